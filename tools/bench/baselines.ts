import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Kafka } from "kafkajs";
import type pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import type { AvroCodec } from "../../src/avro/codec.js";
import { createConsumer } from "../../src/kafka/client.js";
import { type PendingRange, rangeEnds } from "../../src/kafka/offsets.js";
import { followPositions, Positions, partitionKey } from "../../src/kafka/positions.js";
import type { Metrics } from "../../src/metrics.js";

/**
 * Physical limit one: a consumer that only fetches and decodes the same records the pipeline
 * read, from the same offsets, and does nothing else. Returns the events decoded per second.
 */
export async function bareDecodeRate(
  kafka: Kafka,
  codec: AvroCodec,
  metrics: Metrics,
  ranges: Map<string, PendingRange>,
): Promise<number> {
  const consumer = createConsumer(kafka, `bench-decode-${randomUUID()}`);
  const topics = [...new Set([...ranges.keys()].map((k) => k.slice(0, k.lastIndexOf(":"))))];
  let decoded = 0;
  const positions = new Positions();
  followPositions(consumer, "bench-decode", metrics, positions);
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [key, r] of ranges) {
      const [topic, partition] = [
        key.slice(0, key.lastIndexOf(":")),
        Number(key.slice(key.lastIndexOf(":") + 1)),
      ];
      consumer.seek({ topic, partition, offset: r.from.toString() });
    }
  });
  const started = performance.now();
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch }) => {
      const key = partitionKey(batch.topic, batch.partition);
      const range = ranges.get(key);
      if (!range) return;
      const records = batch.messages.filter(
        (m) => BigInt(m.offset) >= range.from && BigInt(m.offset) < range.to,
      );
      await codec.prepare(records.map((m) => m.value));
      for (const m of records) {
        try {
          codec.decode(m.value);
        } catch {
          // undecodable records count as read, as in the pipeline
        }
        decoded++;
      }
    },
  });
  await positions.reached(rangeEnds(ranges));
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return decoded / seconds;
}

/**
 * Physical limit two: the rows the pipeline booked, copied out, then COPYed into bare tables
 * of the same columns (no keys, no indexes, no upsert). Returns seconds and rows.
 */
export async function bareCopySeconds(pool: pg.Pool): Promise<{ seconds: number; rows: number }> {
  const client = await pool.connect();
  try {
    const dump = async (table: string) => {
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
      return chunks;
    };
    const tables = ["voucher", "ledger_line"];
    const dumps: [string, Buffer[]][] = [];
    for (const t of tables) dumps.push([t, await dump(t)]);
    const { rows } = await client.query<{ n: string }>(
      "SELECT (SELECT count(*) FROM finance.voucher) + (SELECT count(*) FROM finance.ledger_line) n",
    );
    await client.query("BEGIN");
    for (const t of tables)
      await client.query(`CREATE TEMP TABLE bare_${t} (LIKE finance.${t}) ON COMMIT DROP`);
    const started = performance.now();
    for (const [t, chunks] of dumps) {
      const sink = client.query(copyFrom(`COPY bare_${t} FROM STDIN`));
      await pipeline(async function* () {
        yield* chunks;
      }, sink);
    }
    await client.query("COMMIT");
    return { seconds: (performance.now() - started) / 1000, rows: Number(rows[0]?.n ?? 0) };
  } finally {
    client.release();
  }
}
