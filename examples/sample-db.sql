-- Assay sample database: a small CRM with known personal data, valid for PostgreSQL and MySQL/MariaDB.
--   PostgreSQL:  createdb crm && psql -d crm -f examples/sample-db.sql
--   MySQL:       mysql -e 'CREATE DATABASE crm' && mysql crm < examples/sample-db.sql
-- Then: PGPASSWORD=… assay scan start postgres://USER@HOST:5432/crm --wait
-- Every value is fake: card numbers are public test numbers, IBANs are documentation examples.

CREATE TABLE customers (
  id          INTEGER PRIMARY KEY,
  full_name   VARCHAR(100) NOT NULL,
  email       VARCHAR(200) NOT NULL,
  phone       VARCHAR(40),
  ssn         VARCHAR(11),
  card_number VARCHAR(32),
  iban        VARCHAR(40),
  signup_ip   VARCHAR(45),
  notes       TEXT
);

INSERT INTO customers (id, full_name, email, phone, ssn, card_number, iban, signup_ip, notes) VALUES
  (1, 'Margaret Okafor', 'margaret.okafor@example.org', '+1 415-555-0134', '536-22-8741', '4111111111111111', 'GB82WEST12345698765432', '203.0.113.42', 'prefers email'),
  (2, 'Daniel Brandt',   'daniel.brandt@example.org',   '+1 415-555-0178', '412-67-3095', '5555555555554444', 'DE89370400440532013000', '198.51.100.7', NULL),
  (3, 'Priya Raman',     'priya.raman@example.org',     '+1 628-555-0112', '287-44-1036', '378282246310005',  'FR1420041010050500013M02606', '192.0.2.199', 'VIP since 2019'),
  (4, 'Tomás Alvarez',   'tomas.alvarez@example.org',   '+1 510-555-0190', '603-18-2274', '6011111111111117', 'GB82WEST12345698765432', '203.0.113.9', NULL),
  (5, 'Aisha Bello',     'aisha.bello@example.org',     '+1 628-555-0147', '219-83-5510', '4012888888881881', 'DE89370400440532013000', '198.51.100.23', 'call after 5pm');

CREATE TABLE products (
  sku         VARCHAR(20) PRIMARY KEY,
  title       VARCHAR(200) NOT NULL,
  price_cents INTEGER NOT NULL
);

INSERT INTO products (sku, title, price_cents) VALUES
  ('NW-1001', 'Harbour blend coffee, 1 kg', 2499),
  ('NW-1002', 'Ceramic mug, navy', 1199),
  ('NW-1003', 'Gift card design A', 2500);

CREATE TABLE orders (
  id          INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers (id),
  sku         VARCHAR(20) NOT NULL REFERENCES products (sku),
  quantity    INTEGER NOT NULL,
  ordered_on  DATE NOT NULL
);

INSERT INTO orders (id, customer_id, sku, quantity, ordered_on) VALUES
  (1, 1, 'NW-1001', 2, '2025-01-04'),
  (2, 2, 'NW-1002', 1, '2025-01-05'),
  (3, 3, 'NW-1001', 1, '2025-01-09'),
  (4, 5, 'NW-1003', 3, '2025-01-11');
