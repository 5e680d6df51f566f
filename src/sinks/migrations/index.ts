import { anySizeKeys } from "./any-size-keys.js";
import { deadLetterPlaces } from "./dead-letter-places.js";
import { referenceVersions } from "./reference-versions.js";

/**
 * Versioned schema migrations for schema `finance`, applied in order by `migrate()`.
 * Kept as TypeScript rather than .sql files so they ship inside the compiled package with no
 * asset copying. Never edit a released migration: add a new version.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const initial = `
CREATE TABLE finance.voucher (
  voucher_id       uuid PRIMARY KEY,
  idempotency_key  text NOT NULL UNIQUE,
  merchant_id      text NOT NULL,
  type             text NOT NULL CHECK (type IN ('RECEIPT', 'PAYMENT', 'ADJUSTMENT')),
  kind             text NOT NULL,
  category         text NOT NULL,
  currency         text NOT NULL,
  amount           numeric(19,4) NOT NULL CHECK (amount > 0),
  party_type       text NOT NULL CHECK (party_type IN ('CUSTOMER', 'VENDOR', 'NONE')),
  party_id         text,
  party_name_en    text,
  party_name_vi    text,
  reason_en        text NOT NULL,
  reason_vi        text NOT NULL,
  source_type      text NOT NULL,
  source_id        text NOT NULL,
  source_code      text,
  event_id         text NOT NULL,
  origin_topic     text NOT NULL,
  origin_partition int NOT NULL,
  origin_offset    bigint NOT NULL,
  occurred_at      timestamptz NOT NULL,
  posted_at        timestamptz NOT NULL DEFAULT now(),
  content_hash     text NOT NULL,
  -- a bilingual name is all or nothing
  CHECK ((party_name_en IS NULL) = (party_name_vi IS NULL))
);
CREATE INDEX voucher_merchant_occurred_idx ON finance.voucher (merchant_id, occurred_at);
CREATE INDEX voucher_merchant_source_idx ON finance.voucher (merchant_id, source_type, source_id);

CREATE TABLE finance.ledger_line (
  voucher_id   uuid NOT NULL REFERENCES finance.voucher (voucher_id),
  line_no      int NOT NULL CHECK (line_no > 0),
  account_id   text NOT NULL,
  account_code text,
  side         text NOT NULL CHECK (side IN ('DEBIT', 'CREDIT')),
  amount       numeric(19,4) NOT NULL CHECK (amount > 0),
  PRIMARY KEY (voucher_id, line_no)
);
CREATE INDEX ledger_line_account_idx ON finance.ledger_line (account_id);

CREATE TABLE finance.account (
  account_id  text PRIMARY KEY,
  merchant_id text NOT NULL,
  code        text,
  name_en     text NOT NULL,
  name_vi     text NOT NULL,
  type        text NOT NULL CHECK (type IN ('MONEY', 'CONTROL')),
  status      text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_merchant_idx ON finance.account (merchant_id);

-- reason is deliberately unconstrained: a dead letter must always be storable
CREATE TABLE finance.dead_letter (
  id         bigserial PRIMARY KEY,
  topic      text NOT NULL,
  partition  int NOT NULL,
  "offset"   bigint NOT NULL,
  key        bytea,
  value      bytea,
  headers    jsonb NOT NULL DEFAULT '{}',
  reason     text NOT NULL,
  error      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (topic, partition, "offset")
);
CREATE INDEX dead_letter_reason_idx ON finance.dead_letter (reason, created_at);

-- one row per distinct wrong version of a voucher; redeliveries of it bump occurrences
CREATE TABLE finance.content_conflict (
  id               bigserial PRIMARY KEY,
  idempotency_key  text NOT NULL,
  stored_hash      text NOT NULL,
  incoming_hash    text NOT NULL,
  incoming         jsonb NOT NULL,
  stored           jsonb,
  occurrences      int NOT NULL DEFAULT 1,
  detected_at      timestamptz NOT NULL DEFAULT now(),
  last_detected_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (idempotency_key, incoming_hash)
);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial", sql: initial },
  anySizeKeys,
  referenceVersions,
  deadLetterPlaces,
];
