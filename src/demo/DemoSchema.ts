/**
 * The demo's shop: customers, orders (hash-partitioned into four) and order items on the source, the same
 * tables on the destination (plain, no foreign keys: each table is applied on its own) plus
 * `customers_history`, every version of every customer (history mode).
 *
 * One source table feeds one target per database group, so the history copy of `customers` is a second
 * group (`shop_history`, its own slot and publication) on the same source database.
 */
import { Redacted } from "effect"
import type { SourceGroup, TableMapping, TableMode } from "../config/Config.js"
import { DEFAULT_HISTORY_COLUMNS } from "../config/KuvaszMap.js"

export const SOURCE_DATABASE = "shop"
export const DESTINATION_DATABASE = "warehouse"

export const SOURCE_DDL = `
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
create index on orders (customer_id);
create table order_items (
  id bigserial primary key,
  order_id bigint not null references orders (id) on delete cascade,
  sku text not null,
  quantity integer not null,
  unit_price numeric(10, 2) not null
);
create index on order_items (order_id);
`

/** a first load for the initial copy: 200 customers, 300 orders, their items */
export const SOURCE_SEED = `
insert into customers (name, email, country)
  select 'Customer ' || i, 'customer' || i || '@example.com', (array['DE', 'FR', 'HU', 'NL', 'US'])[1 + i % 5]
  from generate_series(1, 200) i;
insert into orders (customer_id, status)
  select 1 + (i * 7) % 200, (array['new', 'paid', 'shipped', 'delivered'])[1 + i % 4] from generate_series(1, 300) i;
insert into order_items (order_id, sku, quantity, unit_price)
  select o.id, 'SKU-' || (o.id * 13 + n) % 50, 1 + n, 4.99 + (o.id + n) % 20
  from orders o, generate_series(0, 2) n;
update orders o set total = s.total
  from (select order_id, sum(quantity * unit_price) total from order_items group by order_id) s
  where s.order_id = o.id;
`

const CUSTOMER_COLUMNS = `
  id bigint not null,
  name text not null,
  email text not null,
  country text not null,
  tier text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null`

export const DESTINATION_DDL = `
create table customers (${CUSTOMER_COLUMNS},
  primary key (id)
);
create table orders (
  id bigint primary key,
  customer_id bigint not null,
  status text not null,
  total numeric(12, 2) not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create table order_items (
  id bigint primary key,
  order_id bigint not null,
  sku text not null,
  quantity integer not null,
  unit_price numeric(10, 2) not null
);
create table customers_history (${CUSTOMER_COLUMNS},
  kvsz_id bigserial,
  kvsz_start timestamptz not null default '1900-01-01 00:00:00+00',
  kvsz_end timestamptz not null default '9999-01-01 00:00:00+00',
  kvsz_deleted boolean not null default false,
  kvsz_lsn numeric,
  primary key (id, kvsz_id)
);
`

/** source table → destination table, as the summary lines compare them */
export const DEMO_TABLES: ReadonlyArray<readonly [source: string, target: string]> = [
  ["customers", "customers"],
  ["orders", "orders"],
  ["order_items", "order_items"],
  ["customers", "customers_history"]
]

const mapping = (name: string, mode: TableMode, target = name): TableMapping => ({
  schema: "public",
  name,
  mode,
  target,
  partitionsRegex: undefined,
  autoCreate: false,
  history: DEFAULT_HISTORY_COLUMNS
})

/** the demo's mapping: the shop in clone mode, and customers once more into its history table */
export const demoGroups = (sourceUrl: string): ReadonlyArray<SourceGroup> => {
  const urls = [{ url: Redacted.make(sourceUrl), sid: "" }]
  return [
    {
      database: SOURCE_DATABASE,
      urls,
      tables: [mapping("customers", "clone"), mapping("orders", "clone"), mapping("order_items", "clone")]
    },
    { database: `${SOURCE_DATABASE}_history`, urls, tables: [mapping("customers", "history", "customers_history")] }
  ]
}
