import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Admin, Kafka, KafkaMessage, Message } from "kafkajs";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import type { AvroCodec } from "../../src/avro/codec.js";
import { isRetriable } from "../../src/failures.js";
import { createConsumer, createProducer } from "../../src/kafka/client.js";
import { type PendingRange, rangeEnds } from "../../src/kafka/offsets.js";
import { followPositions, Positions, partitionKey } from "../../src/kafka/positions.js";
import type { Logger } from "../../src/log.js";
import type { Metrics } from "../../src/metrics.js";
import { BACKOFF, retry } from "../../src/retry.js";
import { migrate } from "../../src/sinks/migrate.js";
import { RecordSender } from "../../src/topology/record-sender.js";
import { type CpuSeconds, cpuBetween, sampleCpu } from "./cpu.js";
import type { ClientPass } from "./floor.js";
import { createScratchDatabase } from "./scratch-db.js";

/** CPU seconds (user + system, all of its threads) this process has used so far. */
const ownCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const topicOf = (key: string) => key.slice(0, key.lastIndexOf(":"));
const partitionOf = (key: string) => Number(key.slice(key.lastIndexOf(":") + 1));

/**
 * A consumer that only fetches the records in `ranges` (and decodes them, with `decode`), from
 * those offsets, and does nothing else. Its wall time and this process's CPU are measured
 * from its start to the last record; `keep`, if given, receives each record (untimed use only).
 */
async function bareFetch(
  kafka: Kafka,
  codec: AvroCodec,
  metrics: Metrics,
  ranges: Map<string, PendingRange>,
  options: { decode: boolean; keep?: (topic: string, partition: number, m: KafkaMessage) => void },
): Promise<ClientPass> {
  if (ranges.size === 0) return { records: 0, seconds: 0, cpuSeconds: 0 };
  const consumer = createConsumer(kafka, `bench-fetch-${randomUUID()}`);
  const topics = [...new Set([...ranges.keys()].map(topicOf))];
  let records = 0;
  const positions = new Positions();
  followPositions(consumer, "bench-fetch", metrics, positions);
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [key, r] of ranges)
      consumer.seek({ topic: topicOf(key), partition: partitionOf(key), offset: r.from.toString() });
  });
  const started = performance.now();
  const cpuStarted = ownCpuSeconds();
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch }) => {
      const range = ranges.get(partitionKey(batch.topic, batch.partition));
      if (!range) return;
      const inRange = batch.messages.filter(
        (m) => BigInt(m.offset) >= range.from && BigInt(m.offset) < range.to,
      );
      if (options.decode) await codec.prepare(inRange.map((m) => m.value));
      for (const m of inRange) {
        if (options.decode) {
          try {
            codec.decode(m.value);
          } catch {
            // undecodable records count as read, as in the pipeline
          }
        }
        options.keep?.(batch.topic, batch.partition, m);
        records++;
      }
    },
  });
  await positions.reached(rangeEnds(ranges));
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = ownCpuSeconds() - cpuStarted;
  await consumer.disconnect();
  return { records, seconds, cpuSeconds };
}

/**
 * Physical limit one, and the first of the client's three passes: a consumer that only fetches
 * and decodes the same source records the pipeline read, from the same offsets.
 */
export function bareSourcePass(
  kafka: Kafka,
  codec: AvroCodec,
  metrics: Metrics,
  ranges: Map<string, PendingRange>,
): Promise<ClientPass> {
  return bareFetch(kafka, codec, metrics, ranges, { decode: true });
}

/** Hands every record in `ranges` to `keep`, untimed and undecoded (for work done on them later). */
export async function keepRecords(
  kafka: Kafka,
  codec: AvroCodec,
  metrics: Metrics,
  ranges: Map<string, PendingRange>,
  keep: (topic: string, partition: number, m: KafkaMessage) => void,
): Promise<void> {
  await bareFetch(kafka, codec, metrics, ranges, { decode: false, keep });
}

/**
 * High watermarks of a topic's partitions now, keyed by `partitionKey()`. Tried again while the
 * broker is not ready to answer (a topic created a moment ago: "not the leader").
 */
export async function highWatermarks(admin: Admin, topic: string): Promise<Map<string, bigint>> {
  const offsets = await retry(() => admin.fetchTopicOffsets(topic), {
    ...BACKOFF.topicServed,
    retryIf: isRetriable,
  });
  const out = new Map<string, bigint>();
  for (const p of offsets) out.set(partitionKey(topic, p.partition), BigInt(p.high));
  return out;
}

/** What was appended between two `highWatermarks()` of a topic. */
export function rangesBetween(
  before: Map<string, bigint>,
  after: Map<string, bigint>,
): Map<string, PendingRange> {
  const out = new Map<string, PendingRange>();
  for (const [key, to] of after) {
    const from = before.get(key) ?? 0n;
    if (to > from) out.set(key, { from, to });
  }
  return out;
}

/**
 * The client's other two passes, done bare: the voucher records the replay wrote (`ranges` of
 * finance.voucher) are read back (untimed), produced byte for byte to a scratch topic of as many
 * partitions with the pipeline's producer (idempotent, acks = all, the same partitioner and
 * request size), then fetched and decoded from it as the sink does. The scratch topic is deleted.
 */
export async function bareVoucherPasses(
  kafka: Kafka,
  admin: Admin,
  codec: AvroCodec,
  metrics: Metrics,
  log: Logger,
  voucherTopic: string,
  ranges: Map<string, PendingRange>,
): Promise<{ produce: ClientPass; fetch: ClientPass }> {
  const kept: Message[] = [];
  await bareFetch(kafka, codec, metrics, ranges, {
    decode: false,
    keep: (_t, _p, m) => kept.push({ key: m.key, value: m.value, headers: m.headers ?? {} }),
  });
  const partitions = (await admin.fetchTopicMetadata({ topics: [voucherTopic] })).topics[0]?.partitions
    .length;
  const scratch = `bench-voucher-${randomUUID()}`;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: scratch, numPartitions: partitions ?? 6, replicationFactor: -1 }],
  });
  try {
    const sender = new RecordSender(() => createProducer(kafka), log);
    await sender.connect();
    const started = performance.now();
    const cpuStarted = ownCpuSeconds();
    try {
      await sender.send([{ topic: scratch, messages: kept }]);
    } finally {
      await sender.disconnect();
    }
    const produce = {
      records: kept.length,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: ownCpuSeconds() - cpuStarted,
    };
    kept.length = 0;
    const fetch = await bareFetch(
      kafka,
      codec,
      metrics,
      // From the start: the topic was created empty above.
      rangesBetween(new Map(), await highWatermarks(admin, scratch)),
      {
        decode: true,
      },
    );
    return { produce, fetch };
  } finally {
    await admin.deleteTopics({ topics: [scratch] }).catch((e: Error) => {
      log.warn({ err: e, topic: scratch }, "bench: could not delete its scratch topic");
    });
  }
}

export interface CopyFigure {
  seconds: number;
  rows: number;
  /** Postgres' CPU seconds in the COPY, null where /proc cannot be read. */
  postgresCpu: number | null;
}

type Dumps = [table: string, chunks: Buffer[]][];

const BOOKED_TABLES = ["voucher", "ledger_line"];

async function dumpBooked(client: pg.PoolClient): Promise<{ dumps: Dumps; rows: number }> {
  const dumps: Dumps = [];
  for (const table of BOOKED_TABLES) {
    const chunks: Buffer[] = [];
    await pipeline(
      client.query(copyTo(`COPY finance.${table} TO STDOUT`)),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      }),
    );
    dumps.push([table, chunks]);
  }
  const { rows } = await client.query<{ n: string }>(
    "SELECT (SELECT count(*) FROM finance.voucher) + (SELECT count(*) FROM finance.ledger_line) n",
  );
  return { dumps, rows: Number(rows[0]?.n ?? 0) };
}

/** COPYs the dumps into `target(table)` in one transaction, timed to its commit. */
async function timedCopy(
  client: pg.ClientBase,
  dumps: Dumps,
  rows: number,
  target: (table: string) => string,
  before: () => Promise<void>,
): Promise<CopyFigure> {
  await client.query("BEGIN");
  await before();
  const cpuBefore: CpuSeconds | null = sampleCpu();
  const started = performance.now();
  for (const [table, chunks] of dumps) {
    const sink = client.query(copyFrom(`COPY ${target(table)} FROM STDIN`));
    await pipeline(async function* () {
      yield* chunks;
    }, sink);
  }
  await client.query("COMMIT");
  const seconds = (performance.now() - started) / 1000;
  return { seconds, rows, postgresCpu: cpuBetween(cpuBefore, sampleCpu())?.postgres ?? null };
}

/**
 * Physical limit two, twice: the rows the pipeline booked, copied out, then COPYed (a) into
 * bare temporary tables of the same columns (no keys, no indexes, no upsert, no WAL), and
 * (b) into a scratch database migrated with the project's own migrations, so with the keys,
 * foreign key and indexes as deployed (and WAL). The scratch database is dropped.
 */
export async function bareCopies(
  pool: pg.Pool,
  databaseUrl: string,
  log: Logger,
): Promise<{ keyless: CopyFigure; migrated: CopyFigure }> {
  const client = await pool.connect();
  let dumped: { dumps: Dumps; rows: number };
  let keyless: CopyFigure;
  try {
    dumped = await dumpBooked(client);
    keyless = await timedCopy(
      client,
      dumped.dumps,
      dumped.rows,
      (t) => `bare_${t}`,
      async () => {
        for (const t of BOOKED_TABLES)
          await client.query(`CREATE TEMP TABLE bare_${t} (LIKE finance.${t}) ON COMMIT DROP`);
      },
    );
  } finally {
    client.release();
  }
  const scratch = await createScratchDatabase(databaseUrl, `finance_bench_copy_${Date.now()}`);
  try {
    const copyPool = new pg.Pool({ connectionString: scratch.url, max: 1 });
    try {
      await migrate(copyPool, log);
      const target = await copyPool.connect();
      try {
        const migrated = await timedCopy(
          target,
          dumped.dumps,
          dumped.rows,
          (t) => `finance.${t}`,
          async () => undefined,
        );
        return { keyless, migrated };
      } finally {
        target.release();
      }
    } finally {
      await copyPool.end();
    }
  } finally {
    await scratch.drop();
  }
}
