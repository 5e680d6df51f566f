import { Worker } from "node:worker_threads";
import { type Admin, CompressionTypes, type Kafka, type Message, Partitioners } from "kafkajs";
import type { AvroCodec } from "../avro/codec.js";
import { log } from "../log.js";
import { loadSchema } from "../schemas.js";
import {
  ALL_CDC_TOPICS,
  ALL_SOURCE_TOPICS,
  type CdcTopic,
  keySubject,
  type SourceTopic,
  valueSubject,
} from "../topics.js";
import type { Dataset } from "./dataset.js";
import { DatasetEncoder, type EncodedBatch, META_FIELDS, type SchemaIds, SIM_TOPICS } from "./encode.js";
import type { WorkerInput, WorkerMessage } from "./encode-worker.js";

export type Phase = "cdc" | "events";

export interface PublishProgress {
  phase: Phase;
  done: number;
  total: number;
  elapsedMs: number;
  /** Messages per second in this phase so far. */
  rate: number;
}

export interface PublishOptions {
  /** Partitions of the topics created here (default: the data set's `partitions`). Existing topics keep theirs. */
  topicPartitions?: number;
  /** Messages per producer request (default 2000). */
  batchSize?: number;
  /** Producer requests awaiting their acknowledgement at once (default 8). */
  maxInFlight?: number;
  /** Default none (kafkajs ships no lz4 or snappy codec). */
  compression?: "none" | "gzip";
  /** Generate and encode in a worker thread, beside the producer (default true; falls back to in-thread). */
  worker?: boolean;
  /** Called after each acknowledged request. */
  onProgress?: (p: PublishProgress) => void;
}

export interface PhaseReport<T extends string> {
  messages: number;
  byTopic: Record<T, number>;
  bytes: number;
  ms: number;
  /** Messages per second, from the first send of the phase to its last acknowledgement. */
  rate: number;
}

export interface PublishReport {
  cdc: PhaseReport<CdcTopic>;
  events: PhaseReport<SourceTopic>;
  /** Setup (topics, schemas, connect) plus both phases. */
  totalMs: number;
  /** Whether generation and encoding ran in a worker thread. */
  worker: boolean;
}

/**
 * Registers the contract schemas under their topic-name subjects, as the upstream producers
 * do, and answers their ids. Idempotent: the registry answers the existing id for a known schema.
 */
export async function registerContractSchemas(codec: AvroCodec): Promise<SchemaIds> {
  const value = {} as SchemaIds["value"];
  const key = {} as SchemaIds["key"];
  for (const t of ALL_SOURCE_TOPICS)
    value[t] = await codec.register(valueSubject(t), loadSchema(valueSubject(t)));
  for (const t of ALL_CDC_TOPICS) {
    key[t] = await codec.register(keySubject(t), loadSchema(keySubject(t)));
    value[t] = await codec.register(valueSubject(t), loadSchema(valueSubject(t)));
  }
  return { value, key };
}

/**
 * Creates the source topics, and the CDC topics compacted as Debezium's are, when missing;
 * existing topics are left as they are. Answers every topic's partition count.
 */
export async function ensureSimulationTopics(
  admin: Admin,
  partitions: number,
): Promise<Record<string, number>> {
  const existing = new Set(await admin.listTopics());
  const missing = [
    ...ALL_SOURCE_TOPICS.filter((t) => !existing.has(t)).map((topic) => ({
      topic,
      numPartitions: partitions,
    })),
    ...ALL_CDC_TOPICS.filter((t) => !existing.has(t)).map((topic) => ({
      topic,
      numPartitions: partitions,
      configEntries: [{ name: "cleanup.policy", value: "compact" }],
    })),
  ];
  if (missing.length > 0) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({ ...t, replicationFactor: -1 })),
      });
    } catch (e) {
      // Another process may have created them meanwhile; the metadata below tells.
      log.debug({ err: e }, "creating simulation topics");
    }
  }
  const { topics } = await admin.fetchTopicMetadata({ topics: [...SIM_TOPICS] });
  return Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
}

const zero = <T extends string>(keys: readonly T[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<T, number>;

/** Where encoded batches come from: a worker thread, or this thread. */
interface BatchSource {
  readonly worker: boolean;
  /** The next batch of the phase, or null once the phase is exhausted. */
  next(phase: Phase): Promise<EncodedBatch | null>;
  /** One more batch may be prepared (one was sent). */
  credit(): void;
  close(): Promise<void>;
}

/**
 * Publishes a data set: CDC rows first, all acknowledged before any event is sent (so the
 * tables hold every row the events reference), then the source events, in large batches with
 * acks = all. Keys are partitioned as Kafka's default partitioner does. Returns the counts per
 * topic and the measured rates.
 */
export async function publishDataset(
  kafka: Kafka,
  codec: AvroCodec,
  dataset: Dataset,
  options: PublishOptions = {},
): Promise<PublishReport> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 2_000;
  const maxInFlight = options.maxInFlight ?? 8;
  const admin = kafka.admin();
  await admin.connect();
  let partitions: Record<string, number>;
  try {
    partitions = await ensureSimulationTopics(admin, options.topicPartitions ?? dataset.options.partitions);
  } finally {
    await admin.disconnect();
  }
  const ids = await registerContractSchemas(codec);

  const input: WorkerInput = {
    options: dataset.options,
    ids,
    partitions,
    batchSize,
    credits: maxInFlight + 2,
  };
  const source = options.worker === false ? inlineSource(dataset, input) : await workerSource(dataset, input);

  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: false,
  });
  await producer.connect();
  const compression = options.compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None;

  const phase = async <T extends string>(
    name: Phase,
    topics: readonly T[],
    total: number,
  ): Promise<PhaseReport<T>> => {
    const byTopic = zero(topics);
    const t0 = performance.now();
    let done = 0;
    let bytes = 0;
    let failure: unknown = null;
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      const batch = await source.next(name);
      if (batch === null) break;
      const perTopic = new Map<string, Message[]>();
      const { meta, count } = batch;
      for (let i = 0; i < count; i++) {
        const at = i * META_FIELDS;
        const topic = SIM_TOPICS[meta[at] as number] as T;
        let list = perTopic.get(topic);
        if (!list) {
          list = [];
          perTopic.set(topic, list);
        }
        list.push({
          partition: meta[at + 1] as number,
          key: Buffer.from(batch.buffer, meta[at + 2], meta[at + 3]),
          value: Buffer.from(batch.buffer, meta[at + 4], meta[at + 5]),
        });
        byTopic[topic]++;
      }
      bytes += batch.bytes;
      const p: Promise<void> = producer
        .sendBatch({
          topicMessages: [...perTopic].map(([topic, messages]) => ({ topic, messages })),
          acks: -1,
          compression,
        })
        .then(() => {
          done += count;
          source.credit();
          const elapsedMs = performance.now() - t0;
          options.onProgress?.({ phase: name, done, total, elapsedMs, rate: done / (elapsedMs / 1000) });
        })
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (failure) throw failure;
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    const ms = performance.now() - t0;
    const messages = Object.values<number>(byTopic).reduce((a, b) => a + b, 0);
    return { messages, byTopic, bytes, ms, rate: messages / (ms / 1000) };
  };

  try {
    const cdc = await phase("cdc", ALL_CDC_TOPICS, dataset.cdcCount);
    const events = await phase("events", ALL_SOURCE_TOPICS, dataset.options.events);
    return {
      cdc,
      events,
      totalMs: performance.now() - started,
      worker: source.worker,
    };
  } finally {
    await source.close();
    await producer.disconnect();
  }
}

/** Generates and encodes on demand in this thread. */
function inlineSource(dataset: Dataset, input: WorkerInput): BatchSource {
  const encoder = new DatasetEncoder(input.ids, input.partitions, input.batchSize);
  const cdc = dataset.cdc();
  const events = dataset.events();
  return {
    worker: false,
    async next(phase) {
      if (phase === "cdc") {
        for (let r = cdc.next(); !r.done; r = cdc.next()) {
          encoder.cdc(r.value);
          if (encoder.full) return encoder.take();
        }
      } else {
        for (let r = events.next(); !r.done; r = events.next()) {
          encoder.event(r.value);
          if (encoder.full) return encoder.take();
        }
      }
      return encoder.size > 0 ? encoder.take() : null;
    },
    credit() {},
    async close() {},
  };
}

/** The worker's module, run through tsx when this module is TypeScript (a source checkout). */
function spawnEncoder(input: WorkerInput): Worker {
  const here = import.meta.url;
  const workerData = { simulateEncoder: input };
  // tsx may add a query to the module URL: look at the path only.
  const ts = new URL(here).pathname.endsWith(".ts");
  const url = new URL(`./encode-worker.${ts ? "ts" : "js"}`, here);
  if (!ts) return new Worker(url, { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then(({ tsImport }) => tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(here)}))`;
  return new Worker(code, { eval: true, workerData });
}

/** Batches from a worker thread, with credit-based flow control. Falls back to this thread if it cannot start. */
async function workerSource(dataset: Dataset, input: WorkerInput): Promise<BatchSource> {
  let worker: Worker;
  try {
    worker = spawnEncoder(input);
  } catch (e) {
    log.warn({ err: e }, "simulate: no worker thread; generating in this thread");
    return inlineSource(dataset, input);
  }
  const queue: WorkerMessage[] = [];
  let waiting: (() => void) | null = null;
  let failure: Error | null = null;
  let finished = false;
  const wake = () => {
    const w = waiting;
    waiting = null;
    w?.();
  };
  worker.on("message", (m: WorkerMessage) => {
    queue.push(m);
    wake();
  });
  worker.on("error", (e) => {
    failure ??= e;
    wake();
  });
  worker.on("exit", (code) => {
    finished = true;
    if (code !== 0) failure ??= new Error(`simulate encoder worker exited with code ${code}`);
    wake();
  });

  // A worker that cannot start (no loader for TypeScript, say) is no reason to fail: this thread can do it.
  while (queue.length === 0 && !failure && !finished)
    await new Promise<void>((resolve) => (waiting = resolve));
  if (queue[0]?.kind !== "ready") {
    const m = queue[0];
    const why = m?.kind === "error" ? m.message : (failure as Error | null)?.message;
    await worker.terminate();
    log.warn({ err: why }, "simulate: the encoder worker did not start; generating in this thread");
    return inlineSource(dataset, input);
  }
  queue.shift();

  return {
    worker: true,
    async next(phase) {
      for (;;) {
        const m = queue.shift();
        if (m !== undefined) {
          if (m.kind === "error") throw Object.assign(new Error(m.message), { stack: m.stack });
          if (m.kind === "ready") continue;
          if (m.phase !== phase)
            throw new Error(`simulate encoder sent ${m.phase} while ${phase} was expected`);
          return m.kind === "batch" ? m.batch : null;
        }
        if (failure) throw failure;
        if (finished) throw new Error("simulate encoder worker ended early");
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
    credit() {
      if (!finished) worker.postMessage({ kind: "credit", n: 1 });
    },
    async close() {
      if (!finished) await worker.terminate();
    },
  };
}
