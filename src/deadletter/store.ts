/*
 * finance.dead_letter's rows: how dead letters are stored in Postgres, each once by where the
 * project read it, whether the topology kept one too large for the topic or the sink read it.
 */
import type { Db } from "../sinks/db.js";
import { asInfraError } from "../sinks/pg-errors.js";
import { OVERSIZE_HEADER } from "./headers.js";
import type { DeadLetterRecord } from "./records.js";

/*
 * Unique by where the project read the record (migration 4): a dead letter from the dead-letter
 * topic by its place there, any other by its own place; a forged origin header takes no row's
 * place. A dead letter from the topic that is a byte-for-byte copy (origin, key, value, reason)
 * of one stored before is that record dead-lettered again — a replay or a redelivery of its
 * event, or a row from before migration 4 read after the upgrade — and adds no row: a copy
 * changes nothing, and a forged record differs in its bytes, so it is kept beside the genuine.
 * The stub standing in on the topic for a dead letter too large for it adds nothing once the
 * topology has stored the whole record at its own place (it does so before producing the stub).
 */
const INSERT = `
  INSERT INTO finance.dead_letter
    (topic, partition, "offset", key, value, headers, reason, error, dlq_partition, dlq_offset, from_dlq)
  SELECT n.topic, n.partition, n."offset", n.key, n.value, n.headers, n.reason, n.error,
         n.dlq_partition, n.dlq_offset, n.dlq_offset IS NOT NULL
  FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[], $5::bytea[], $6::jsonb[], $7::text[], $8::text[],
              $9::int[], $10::bigint[])
    AS n(topic, partition, "offset", key, value, headers, reason, error, dlq_partition, dlq_offset)
  WHERE n.dlq_offset IS NULL OR (NOT EXISTS (
    SELECT 1 FROM finance.dead_letter d
    WHERE d.from_dlq
      AND d.topic = n.topic AND d.partition = n.partition AND d."offset" = n."offset"
      AND d.key IS NOT DISTINCT FROM n.key AND d.value IS NOT DISTINCT FROM n.value
      AND d.reason = n.reason)
  AND NOT (n.headers ? $11 AND EXISTS (
    SELECT 1 FROM finance.dead_letter d
    WHERE NOT d.from_dlq AND d.topic = n.topic AND d.partition = n.partition AND d."offset" = n."offset")))
  ON CONFLICT DO NOTHING`;

/** Postgres text and jsonb cannot hold NUL; a dead letter must be storable whatever it carries. */
const storable = (s: string): string => s.replaceAll("\u0000", "\uFFFD");

/**
 * Stores dead letters in one statement; a redelivered one (read again at the same place) is
 * kept once, and two that claim the same origin are both kept. Key and value stay byte for byte. Returns how many were new.
 */
export async function insertDeadLetters(db: Db, records: readonly DeadLetterRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  const headers = records.map((r) =>
    JSON.stringify(Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [storable(k), storable(v)]))),
  );
  try {
    const res = await db.query(INSERT, [
      records.map((r) => r.topic),
      records.map((r) => r.partition),
      records.map((r) => String(r.offset)),
      records.map((r) => r.key),
      records.map((r) => r.value),
      headers,
      records.map((r) => storable(r.reason)),
      records.map((r) => storable(r.error)),
      records.map((r) => r.dlq?.partition ?? null),
      records.map((r) => (r.dlq ? String(r.dlq.offset) : null)),
      OVERSIZE_HEADER,
    ]);
    return res.rowCount ?? 0;
  } catch (e) {
    throw asInfraError(e, "insert dead letters");
  }
}
