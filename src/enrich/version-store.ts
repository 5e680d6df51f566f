import { hash } from "node:crypto";
import type { Pool } from "pg";
import { asInfraError } from "../sinks/pg-errors.js";
import { ALL_CDC_TOPICS, type CdcTopic } from "../topics.js";
import type { CdcRecord } from "./cdc.js";

/** A CDC row that became a version (or was refused), as kept in Postgres. */
export interface StoredChange {
  topic: CdcTopic;
  id: string;
  op: string;
  /** Source commit time. */
  at: number;
  /** The row's contract columns; null for a delete. */
  row: Record<string, unknown> | null;
}

/**
 * Where the versions the tables have seen are kept (SPEC §5 "Finance keeps what it has seen"),
 * so that upstream compaction never changes what a running installation resolves.
 */
export interface VersionStore {
  /** In the order they are to be applied again: merchants first (their seeded ids), then as first seen. */
  load(): Promise<StoredChange[]>;
  save(changes: readonly StoredChange[]): Promise<void>;
}

/** A stored change as the table feed applies it: the Debezium record it came from, in short. */
export function recordOf(change: StoredChange): CdcRecord {
  return {
    topic: change.topic,
    key: { id: change.id },
    value: { op: change.op, before: null, after: change.row, source: { ts_ms: change.at } },
  };
}

// The change is JSON in a text column: jsonb refuses \u0000, and a CDC row is never refused here.
const SAVE_SQL = `
  INSERT INTO finance.reference_version (topic, change_hash, change)
  SELECT topic, change_hash, change
  FROM jsonb_to_recordset($1::jsonb) AS x(topic text, change_hash text, change text)
  ON CONFLICT DO NOTHING`;

const LOAD_SQL = `
  SELECT topic, change FROM finance.reference_version ORDER BY array_position($1::text[], topic), seq`;

/** SQLSTATE of a relation that does not exist: the database was not migrated. */
const UNDEFINED_TABLE = "42P01";

/** Every instance reads every CDC partition and saves the same changes: the first copy stands. */
export class PostgresVersionStore implements VersionStore {
  constructor(private readonly pool: Pool) {}

  async load(): Promise<StoredChange[]> {
    try {
      const { rows } = await this.pool.query<{ topic: CdcTopic; change: string }>(LOAD_SQL, [ALL_CDC_TOPICS]);
      return rows.map((r) => ({ topic: r.topic, ...(JSON.parse(r.change) as Omit<StoredChange, "topic">) }));
    } catch (e) {
      if ((e as { code?: string }).code === UNDEFINED_TABLE) {
        throw new Error("finance.reference_version does not exist: run `finance-posting migrate` first", {
          cause: e,
        });
      }
      throw asInfraError(e, "load reference versions");
    }
  }

  async save(changes: readonly StoredChange[]): Promise<void> {
    if (changes.length === 0) return;
    const rows = changes.map((c) => {
      const change = JSON.stringify({ id: c.id, op: c.op, at: c.at, row: c.row });
      return { topic: c.topic, change_hash: hash("sha256", change, "hex"), change };
    });
    try {
      await this.pool.query(SAVE_SQL, [JSON.stringify(rows)]);
    } catch (e) {
      throw asInfraError(e, "save reference versions");
    }
  }
}
