import type { Migration } from "./index.js";

/**
 * Issue 20 item 9: a dead letter's row is unique by where the project itself read it, never by
 * what a header claims. Until now rows were unique by (topic, partition, "offset"), which for a
 * record read from finance.posting.dlq are its `__connect.errors.*` headers: anyone who can write
 * that topic could name a genuine dead letter's origin and so take its row (ON CONFLICT DO NOTHING).
 *
 * - `dlq_partition`, `dlq_offset`: where the sink read a dead letter on finance.posting.dlq,
 *   unique. `topic`, `partition`, `offset` keep the origin its headers claim (CONTRACTS.md).
 * - `from_dlq`: the row came from finance.posting.dlq (its origin columns are a header's word).
 *   False for a record stored at its own place: a voucher or record the sink refused, a record it
 *   could not decode, a dead letter too large for the topic; those stay unique by
 *   (topic, partition, "offset"), which is then where the project read them.
 * - Rows from before this migration have no DLQ position. Those whose headers name an origin are
 *   marked `from_dlq` (a header's word, so out of the own-place uniqueness and never redriven from
 *   the table); a partial index finds them, so the sink can skip a byte-for-byte copy of one that
 *   it reads again after the upgrade.
 * - `redriven_at`: when `redrive` last sent the row's record back (vouchers the sink refused).
 *
 * Sinks of earlier versions must be stopped first: their ON CONFLICT names the dropped constraint,
 * so their dead-letter inserts fail (retried as an infrastructure error, never lost) until upgraded.
 */
export const deadLetterPlaces: Migration = {
  version: 4,
  name: "dead letters unique by where they were read",
  sql: `
ALTER TABLE finance.dead_letter
  ADD COLUMN dlq_partition int,
  ADD COLUMN dlq_offset bigint,
  ADD COLUMN from_dlq boolean NOT NULL DEFAULT false,
  ADD COLUMN redriven_at timestamptz,
  ADD CONSTRAINT dead_letter_dlq_place_whole CHECK ((dlq_partition IS NULL) = (dlq_offset IS NULL)),
  ADD CONSTRAINT dead_letter_dlq_place_only_from_dlq CHECK (from_dlq OR dlq_offset IS NULL);
UPDATE finance.dead_letter SET from_dlq = true WHERE headers ? '__connect.errors.topic';
ALTER TABLE finance.dead_letter DROP CONSTRAINT dead_letter_topic_partition_offset_key;
ALTER TABLE finance.dead_letter ADD CONSTRAINT dead_letter_dlq_place_key UNIQUE (dlq_partition, dlq_offset);
CREATE UNIQUE INDEX dead_letter_own_place_idx ON finance.dead_letter (topic, partition, "offset") WHERE NOT from_dlq;
CREATE INDEX dead_letter_origin_idx ON finance.dead_letter (topic, partition, "offset") WHERE from_dlq;
`,
};
