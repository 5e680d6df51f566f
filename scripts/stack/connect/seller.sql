-- The seller database's tables that CONTRACTS.md's CDC topics carry, in the local stack's source
-- Postgres (scripts/stack.sh, STACK_DEBEZIUM=1). Idempotent: run at every start.
-- Every column is text (CONTRACTS: "All columns are strings unless marked null-able");
-- merchant.created_at is timestamptz, which Debezium writes as an ISO-8601 string
-- (io.debezium.time.ZonedTimestamp).

CREATE TABLE IF NOT EXISTS merchant (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  currency   text NOT NULL,
  status     text NOT NULL,
  created_at timestamptz
);

CREATE TABLE IF NOT EXISTS finance_account (
  id          text PRIMARY KEY,
  merchant_id text NOT NULL,
  code        text,
  name        text NOT NULL,
  type        text NOT NULL,
  status      text NOT NULL
);

CREATE TABLE IF NOT EXISTS vendor (
  id          text PRIMARY KEY,
  merchant_id text NOT NULL,
  name        text NOT NULL,
  status      text NOT NULL
);

CREATE TABLE IF NOT EXISTS purchase_order (
  id          text PRIMARY KEY,
  merchant_id text NOT NULL,
  code        text NOT NULL,
  vendor_id   text NOT NULL,
  status      text NOT NULL
);

-- REPLICA IDENTITY: the pipeline needs only the key ({id}, the primary key) and `after`, so the
-- default (primary key) is enough. FULL makes `before` carry the whole old row on updates and
-- deletes (and unchanged TOASTed values available) at the cost of more WAL; the stack runs both
-- kinds so that the pipeline is tested against each: FULL for merchant, finance_account and
-- vendor, DEFAULT for purchase_order.
ALTER TABLE merchant REPLICA IDENTITY FULL;
ALTER TABLE finance_account REPLICA IDENTITY FULL;
ALTER TABLE vendor REPLICA IDENTITY FULL;
ALTER TABLE purchase_order REPLICA IDENTITY DEFAULT;

-- The publication the connector reads (publication.autocreate.mode=disabled): the four tables,
-- every operation including TRUNCATE (skipped.operations=none then passes it on as op "t").
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'nx_seller') THEN
    CREATE PUBLICATION nx_seller FOR TABLE merchant, finance_account, vendor, purchase_order
      WITH (publish = 'insert, update, delete, truncate');
  END IF;
END
$$;
