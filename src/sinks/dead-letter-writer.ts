import type { Db } from "./db.js";
import { asInfraError } from "./pg-errors.js";

export interface DeadLetterRecord {
  topic: string;
  partition: number;
  /** Kafka offsets arrive as strings from kafkajs; bigint in Postgres either way. */
  offset: string | number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  reason: string;
  error: string;
}

const INSERT = `
  INSERT INTO finance.dead_letter (topic, partition, "offset", key, value, headers, reason, error)
  SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[], $5::bytea[], $6::jsonb[], $7::text[], $8::text[])
  ON CONFLICT (topic, partition, "offset") DO NOTHING`;

/** Postgres text and jsonb cannot hold NUL; a dead letter must be storable whatever it carries. */
const storable = (s: string): string => s.replaceAll("\u0000", "\uFFFD");

/**
 * Stores dead letters in one statement; a redelivered one (same topic, partition, offset) is
 * kept once. Key and value stay byte for byte. Returns how many were new.
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
    ]);
    return res.rowCount ?? 0;
  } catch (e) {
    throw asInfraError(e, "insert dead letters");
  }
}
