-- Least privilege for finance-posting (README "Postgres: TLS and least privilege"): an owner role that runs
-- `finance-posting migrate`, and a runtime role for `run --no-migrate` and `replay --no-migrate`
-- that reads and writes rows (and its session's staging tables) but changes no schema.
-- Run once per database as a superuser or the database's owner, with psql variables, e.g.
--   psql -v owner=finance_owner -v runtime=finance_runtime -v database=ledger -f roles.sql
-- and give each role a password (ALTER ROLE … PASSWORD) or another authentication.
CREATE ROLE :"owner" LOGIN;
CREATE ROLE :"runtime" LOGIN;
GRANT CONNECT ON DATABASE :"database" TO :"owner", :"runtime";
-- The sink stages each batch in temporary tables of its own session.
GRANT TEMPORARY ON DATABASE :"database" TO :"runtime";
-- The owner creates and upgrades what is in schema finance, and nothing outside it.
CREATE SCHEMA finance AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA finance TO :"runtime";
-- Every table and sequence the owner's migrations create, now and later: rows only, no DELETE.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA finance
  GRANT SELECT, INSERT, UPDATE ON TABLES TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA finance
  GRANT USAGE ON SEQUENCES TO :"runtime";
