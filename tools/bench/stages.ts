import type { KafkaMessage } from "kafkajs";
import type { Runtime } from "../../src/commands/runtime.js";
import { TableFeed } from "../../src/enrich/table-feed.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import type { PendingRange } from "../../src/kafka/offsets.js";
import { loadSchema } from "../../src/schemas.js";
import { VOUCHER_TOPIC, valueSubject } from "../../src/topics.js";
import { chunksOfBatch } from "../../src/topology/chunks.js";
import { type ItemBatch, type SourceBatch, sourceRecordOf } from "../../src/topology/items.js";
import { decode, encode, post, resolve, validate } from "../../src/topology/stages.js";
import { keepRecords } from "./baselines.js";

/** The topology's stages before publishing, in the order a batch takes them. */
export const STAGES = ["decode", "validate", "resolve", "post", "encode"] as const;
export type StageCosts = Record<(typeof STAGES)[number], number>;

/** The largest voucher record encode lets through: the broker's default max.message.bytes. */
const RECORD_LIMIT = 1024 * 1024;

/** Passes over the whole data set; the cheapest is printed (the first warms the JIT up). */
const PASSES = 3;

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/**
 * CPU per event of each of the topology's stages (decode … encode), run in this process on the
 * replay's source records, in the topology's chunks, against tables loaded from the CDC topics
 * as an instance loads them: the pipeline's own work, without Kafka, publishing or Postgres.
 * References are not waited for (a missing one is UNRESOLVED at once, as after a timeout).
 */
export async function stageCosts(
  bench: Runtime,
  ranges: Map<string, PendingRange>,
): Promise<{ events: number; micros: StageCosts }> {
  const { kafka, codec, log, metrics, config } = bench;
  const batches = await sourceBatches(bench, ranges);
  const events = batches.reduce((n, b) => n + b.records.length, 0);
  const voucherSchemaId = await codec.register(
    valueSubject(VOUCHER_TOPIC),
    loadSchema(valueSubject(VOUCHER_TOPIC)),
  );
  const tables = new MaterializedTables();
  const feed = new TableFeed({
    kafka,
    codec,
    tables,
    groupPrefix: (instance) => `bench-stages-tables-${instance}`,
    log,
    metrics,
    heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
  });
  await feed.start();
  await feed.stop();
  let best: StageCosts | null = null;
  for (let pass = 0; pass < PASSES; pass++) {
    const spent: StageCosts = { decode: 0, validate: 0, resolve: 0, post: 0, encode: 0 };
    const timed = <T>(stage: keyof StageCosts, run: () => T): T => {
      const started = cpuMicros();
      const out = run();
      spent[stage] += cpuMicros() - started;
      return out;
    };
    for (const batch of batches) {
      for (const chunk of chunksOfBatch(batch)) {
        const started = cpuMicros();
        let items: ItemBatch = await decode(codec, chunk);
        spent.decode += cpuMicros() - started;
        items = timed("validate", () => validate(items));
        const resolving = cpuMicros();
        items = await resolve(tables, { timeoutMs: 0 }, items);
        spent.resolve += cpuMicros() - resolving;
        items = timed("post", () => post(items));
        timed("encode", () => encode(codec, voucherSchemaId, RECORD_LIMIT, items));
      }
    }
    if (best === null || total(spent) < total(best)) best = spent;
  }
  const micros = best as StageCosts;
  for (const stage of STAGES) micros[stage] /= Math.max(events, 1);
  return { events, micros };
}

const total = (c: StageCosts) => STAGES.reduce((n, s) => n + c[s], 0);

/** The replay's source records, by partition, as the topology receives them. */
async function sourceBatches(bench: Runtime, ranges: Map<string, PendingRange>): Promise<SourceBatch[]> {
  const byPartition = new Map<string, SourceBatch>();
  await keepRecords(bench.kafka, bench.codec, bench.metrics, ranges, (topic, partition, m: KafkaMessage) => {
    const key = `${topic}:${partition}`;
    let batch = byPartition.get(key);
    if (!batch) {
      batch = { topic, partition, records: [] };
      byPartition.set(key, batch);
    }
    batch.records.push(sourceRecordOf(m));
  });
  return [...byPartition.values()];
}

/** The line `bench --stages` prints. */
export function stageCostLine(costs: { events: number; micros: StageCosts }): string {
  const parts = STAGES.map((s) => `${s} ${costs.micros[s].toFixed(1)}`);
  return `  the topology's stages in process (decode … encode, no Kafka), CPU µs per event, best of ${PASSES} passes over ${costs.events.toLocaleString("en-US")} events: ${parts.join(" · ")}; together ${total(costs.micros).toFixed(1)}`;
}
