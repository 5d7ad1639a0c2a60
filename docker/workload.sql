-- pgbench script of the quickstart's workload container: a customer, an order with two items, and an
-- older order moving on, per transaction (pgbench -R sets the rate).
\set n random(1, 1000000000)
\set sku random(1, 50)
\set qty random(1, 3)
\set tier random(0, 2)
BEGIN;
INSERT INTO customers (name, email, country) VALUES ('Customer ' || :n, 'c' || :n || '.' || txid_current() || '@example.com', 'HU');
INSERT INTO orders (customer_id) VALUES (currval('customers_id_seq'));
INSERT INTO order_items (order_id, sku, quantity, unit_price) VALUES (currval('orders_id_seq'), 'SKU-' || :sku, :qty, 9.99), (currval('orders_id_seq'), 'SKU-' || (:sku + 1), 1, 4.99);
UPDATE orders SET status = 'paid', updated_at = now() WHERE id = currval('orders_id_seq') - 10;
UPDATE customers SET tier = (ARRAY['standard', 'silver', 'gold'])[:tier + 1], updated_at = now() WHERE id = :n % 100 + 1;
END;
