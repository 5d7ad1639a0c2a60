-- The quickstart's source schema (run once by the postgres image from /docker-entrypoint-initdb.d/).
create table customers (
  id bigserial primary key,
  name text not null,
  email text not null unique,
  country text not null,
  tier text not null default 'standard',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create table orders (
  id bigserial primary key,
  customer_id bigint not null references customers (id),
  status text not null default 'new',
  total numeric(12, 2) not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
) partition by hash (id);
create table orders_p0 partition of orders for values with (modulus 4, remainder 0);
create table orders_p1 partition of orders for values with (modulus 4, remainder 1);
create table orders_p2 partition of orders for values with (modulus 4, remainder 2);
create table orders_p3 partition of orders for values with (modulus 4, remainder 3);
create table order_items (
  id bigserial primary key,
  order_id bigint not null references orders (id) on delete cascade,
  sku text not null,
  quantity integer not null,
  unit_price numeric(10, 2) not null
);
insert into customers (name, email, country)
  select 'Customer ' || i, 'customer' || i || '@example.com', (array['DE', 'FR', 'HU', 'NL', 'US'])[1 + i % 5]
  from generate_series(1, 100) i;
