import type { Migration } from "./index.js";

/**
 * CONTRACTS: every key validation accepts must be storable, in `voucher` and `content_conflict`.
 * A btree holds a whole key per index row and refuses rows over ~2.7 kB, yet three 255-character
 * ids of 4-byte characters already make a key of ~3 kB. So:
 * - `voucher`: a key is unique through `voucher_id`, its UUID v5 and the primary key, which the
 *   sink probes and inserts by; the key keeps a hash index for lookups by key, which stores a
 *   32-bit hash of it and so takes a key of any size (a hash index cannot be UNIQUE).
 * - `content_conflict`: one row per voucher and wrong version, by the key's md5 rather than the
 *   key itself. md5's weakness merges nothing: `incoming_hash` covers the key (content-hash.ts),
 *   so two keys never share it. No backfill and no new column, so the migration is instant on
 *   a table of any size and a reader of the table sees the columns it knew.
 */
export const anySizeKeys: Migration = {
  version: 2,
  name: "keys of any size",
  sql: `
ALTER TABLE finance.voucher DROP CONSTRAINT voucher_idempotency_key_key;
CREATE INDEX voucher_idempotency_key_idx ON finance.voucher USING hash (idempotency_key);

ALTER TABLE finance.content_conflict DROP CONSTRAINT content_conflict_idempotency_key_incoming_hash_key;
CREATE UNIQUE INDEX content_conflict_key_version_idx ON finance.content_conflict (md5(idempotency_key), incoming_hash);
`,
};
