import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Consumer } from "kafkajs";
import pg from "pg";
import { type Config, loadConfig } from "../../src/config.js";
import { ALL_CDC_TOPICS } from "../../src/topics.js";
import type { TestKafka } from "./pipeline.js";

/**
 * The Debezium part of the local stack (`bash scripts/stack.sh debezium-up`): a source Postgres
 * with the seller tables, and a Kafka Connect worker running the Debezium PostgreSQL connector
 * with an Avro converter against the registry. Both addresses come from its exports; without
 * them a test that needs real Debezium is skipped.
 */
export const DEBEZIUM = {
  connectUrl: process.env.DEBEZIUM_CONNECT_URL ?? "",
  sourceDatabaseUrl: process.env.SOURCE_DATABASE_URL ?? "",
};

export const debeziumSkipReason = (): string | false =>
  DEBEZIUM.connectUrl && DEBEZIUM.sourceDatabaseUrl
    ? false
    : 'needs real Debezium: run `eval "$(bash scripts/stack.sh debezium-up)"` first (it exports DEBEZIUM_CONNECT_URL and SOURCE_DATABASE_URL); .ci/run does';

/** The connector's state as Kafka Connect's REST API reports it. */
export async function connectorStatus(name = "nx-seller"): Promise<{ connector: string; tasks: string[] }> {
  const res = await fetch(`${DEBEZIUM.connectUrl}/connectors/${name}/status`, {
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`Kafka Connect: GET /connectors/${name}/status answered HTTP ${res.status}`);
  const s = (await res.json()) as { connector: { state: string }; tasks: { state: string }[] };
  return { connector: s.connector.state, tasks: s.tasks.map((t) => t.state) };
}

/** The source (seller) database: every statement its own transaction, as an application's would be. */
export class SourceDb {
  readonly pool = new pg.Pool({ connectionString: DEBEZIUM.sourceDatabaseUrl, max: 2 });

  async exec(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query(sql, params);
  }

  /** The rows the stack seeded before the connector first started (its initial snapshot read them). */
  async seed(): Promise<{ merchant: string; archivedBank: string; wallet: string }> {
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM merchant WHERE id LIKE 'seed-%' ORDER BY id LIMIT 1",
    );
    const merchant = rows[0]?.id;
    if (!merchant) throw new Error("the source database has no seeded merchant: start it with stack.sh");
    return { merchant, archivedBank: `${merchant}-bank`, wallet: `${merchant}-wallet` };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** One CDC record as real Debezium wrote it, decoded with its writer schema from the registry. */
export interface CdcRecord {
  topic: string;
  partition: number;
  offset: string;
  keySchemaId: number | null;
  valueSchemaId: number | null;
  key: { id: string } | null;
  value: Envelope | null;
  headers: string[];
}

export interface Envelope {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: {
    version: string;
    connector: string;
    name: string;
    ts_ms: number;
    ts_us?: number | bigint | null;
    ts_ns?: number | bigint | null;
    snapshot: string | null;
    db: string;
    sequence?: string | null;
    schema: string;
    table: string;
    txId: number | null;
    lsn: number | null;
  };
  transaction?: unknown;
  op: string;
  ts_ms: number | null;
  ts_us?: number | bigint | null;
  ts_ns?: number | bigint | null;
}

/**
 * Follows the four CDC topics from their beginning, decoding every record with the pipeline's
 * own codec, and keeps those `keep` selects (the topics hold every other test's rows too).
 */
export class CdcTail {
  readonly records: CdcRecord[] = [];
  private consumer: Consumer | null = null;
  private failure: Error | null = null;

  constructor(
    private readonly k: TestKafka,
    private readonly keep: (r: CdcRecord) => boolean,
  ) {}

  async start(): Promise<void> {
    const consumer = this.k.kafka.consumer({ groupId: `debezium-tail-${randomUUID()}` });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [...ALL_CDC_TOPICS], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        try {
          await this.k.codec.prepare(batch.messages.flatMap((m) => [m.key, m.value]));
          for (const m of batch.messages) {
            const record: CdcRecord = {
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              keySchemaId: m.key ? m.key.readInt32BE(1) : null,
              valueSchemaId: m.value ? m.value.readInt32BE(1) : null,
              key: m.key ? this.k.codec.decode<{ id: string }>(m.key) : null,
              value: m.value ? this.k.codec.decode<Envelope>(m.value) : null,
              headers: Object.keys(m.headers ?? {}),
            };
            if (this.keep(record)) this.records.push(record);
          }
        } catch (e) {
          this.failure = e as Error;
        }
      },
    });
  }

  /** Waits until the records kept so far satisfy `done`; returns what it matched. */
  async waitFor<T>(
    what: string,
    done: (records: CdcRecord[]) => T | undefined,
    timeoutMs = 60_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      const found = done(this.records);
      if (found !== undefined && found !== false) return found;
      if (Date.now() > deadline)
        throw new Error(`real Debezium did not deliver ${what} within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** The first record of an entity with the given op, after the given position in `records`. */
  async change(topic: string, id: string, op: string, after = 0): Promise<CdcRecord> {
    return this.waitFor(`${op} of ${id} on ${topic}`, (rs) =>
      rs.slice(after).find((r) => r.topic === topic && r.key?.id === id && r.value?.op === op),
    );
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** One pipeline deployment under test: its own consumer groups and database. */
export function deploymentOn(databaseUrl: string): { env: NodeJS.ProcessEnv; config: Config } {
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    CONSUMER_GROUP: `test-${randomUUID()}`,
    METRICS_PORT: "0",
    RESOLVE_TIMEOUT_MS: "1500",
    SINK_LINGER_MS: "50",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "fatal",
  };
  return { env, config: loadConfig(env) };
}

/** A time strictly between two commit times (they must be at least 2 ms apart). */
export function between(a: number, b: number): number {
  if (b - a < 2) throw new Error(`no millisecond strictly between ${a} and ${b}`);
  return a + Math.floor((b - a) / 2);
}
