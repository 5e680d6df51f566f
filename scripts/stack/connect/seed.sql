-- Rows that exist before the connector first starts, so that its initial snapshot reads them
-- (op "r", source.snapshot first/true/last, source.ts_ms the snapshot's time). Run by
-- scripts/stack.sh once per source database, with :token unique to that database; the
-- integration test finds them by their `seed-` ids and never changes them.
INSERT INTO merchant (id, name, currency, status, created_at) VALUES
  ('seed-' || :'token', 'Seeded shop', 'VND', 'ACTIVE', '2024-01-02 03:04:05.678+07');
INSERT INTO finance_account (id, merchant_id, code, name, type, status) VALUES
  ('seed-' || :'token' || '-bank', 'seed-' || :'token', 'BANK_OLD', 'Closed bank account', 'MONEY', 'ARCHIVED'),
  ('seed-' || :'token' || '-wallet', 'seed-' || :'token', NULL, 'E-wallet', 'MONEY', 'ACTIVE');
INSERT INTO vendor (id, merchant_id, name, status) VALUES
  ('seed-' || :'token' || '-vendor', 'seed-' || :'token', 'Seeded dairy', 'ACTIVE');
INSERT INTO purchase_order (id, merchant_id, code, vendor_id, status) VALUES
  ('seed-' || :'token' || '-po', 'seed-' || :'token', 'PO-SEED', 'seed-' || :'token' || '-vendor', 'RECEIVED');
