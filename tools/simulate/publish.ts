import {
  type Admin,
  CompressionTypes,
  type Kafka,
  type Message,
  Partitioners,
  type RecordMetadata,
  type TopicMessages,
} from "kafkajs";
import type { AvroCodec } from "../../src/avro/codec.js";
import type { Logger } from "../../src/log.js";
import { loadSchema } from "../../src/schemas.js";
import {
  ALL_CDC_TOPICS,
  ALL_SOURCE_TOPICS,
  type CdcTopic,
  keySubject,
  type SourceTopic,
  valueSubject,
} from "../../src/topics.js";
import type { Dataset } from "./dataset.js";
import {
  DatasetEncoder,
  type EncodedBatch,
  META_FIELDS,
  type SchemaIds,
  SIM_TOPICS,
  TOMBSTONE,
} from "./encode.js";

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
  /** Called after each acknowledged request. */
  onProgress?: (p: PublishProgress) => void;
  /** Events sent at this steady rate instead of as fast as possible (CDC rows still go at once). */
  eventsPerSecond?: number;
  /**
   * Paced, how much of the events is generated and encoded before the first is sent (default
   * 512 MiB of encoded batches, ~2 million events); the rest is generated as it is sent.
   */
  preparedEventBytes?: number;
  /** Called with each acknowledged event request's offsets, for latency measured from the ack. */
  onEventsAcked?: (acked: AckedRange[], ackedAt: number) => void;
  /** Awaited once every CDC row is acknowledged, before the first event is sent. */
  beforeEvents?: () => Promise<void>;
}

/** Offsets [from, to) of one topic partition the broker acknowledged together. */
export interface AckedRange {
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
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
  log: Logger,
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

/** The items encoded, a batch at a time. */
function* encodedBatches<T>(
  items: Iterable<T>,
  encoder: DatasetEncoder,
  encode: (item: T) => void,
): Generator<EncodedBatch> {
  for (const item of items) {
    encode(item);
    if (encoder.full) yield encoder.take();
  }
  if (encoder.size > 0) yield encoder.take();
}

const PREPARED_EVENT_BYTES = 512 * 1024 * 1024;

/** The first batches, up to `maxBytes` of their buffers, generated now; the rest when reached. */
function preparedAhead(batches: Generator<EncodedBatch>, maxBytes: number): Iterable<EncodedBatch> {
  const ahead: EncodedBatch[] = [];
  let bytes = 0;
  while (bytes < maxBytes) {
    const next = batches.next();
    if (next.done) return ahead;
    ahead.push(next.value);
    bytes += next.value.buffer.byteLength;
  }
  return (function* () {
    yield* ahead;
    yield* batches;
  })();
}

/** Which offsets a request's records got: each partition's base offset and its record count. */
function ackedRanges(sent: TopicMessages[], metadata: RecordMetadata[]): AckedRange[] {
  return sent.flatMap(({ topic, messages }) => {
    const counts = new Map<number, number>();
    for (const m of messages) counts.set(m.partition ?? 0, (counts.get(m.partition ?? 0) ?? 0) + 1);
    return [...counts].flatMap(([partition, n]) => {
      const base = metadata.find((r) => r.topicName === topic && r.partition === partition)?.baseOffset;
      return base === undefined
        ? []
        : [{ topic, partition, from: BigInt(base), to: BigInt(base) + BigInt(n) }];
    });
  });
}

/** A batch's messages, per topic, as kafkajs sends them (views of the batch's buffer, no copies). */
function unpack(batch: EncodedBatch): TopicMessages[] {
  const perTopic = new Map<string, Message[]>();
  const { meta, count } = batch;
  for (let i = 0; i < count; i++) {
    const at = i * META_FIELDS;
    const topic = SIM_TOPICS[meta[at] as number] as string;
    let messages = perTopic.get(topic);
    if (!messages) {
      messages = [];
      perTopic.set(topic, messages);
    }
    const valueLength = meta[at + 5] as number;
    messages.push({
      partition: meta[at + 1] as number,
      key: Buffer.from(batch.buffer, meta[at + 2], meta[at + 3]),
      value: valueLength === TOMBSTONE ? null : Buffer.from(batch.buffer, meta[at + 4], valueLength),
    });
  }
  return [...perTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * Publishes a data set: CDC rows first (tombstones included, counted as messages), all
 * acknowledged before any event is sent (so the tables hold every row the events reference,
 * and the changes committed after them), then the source events, in large batches with
 * acks = all. Keys are partitioned as Kafka's default partitioner does. Returns the counts per
 * topic and the measured rates.
 */
export async function publishDataset(
  kafka: Kafka,
  codec: AvroCodec,
  log: Logger,
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
    partitions = await ensureSimulationTopics(
      admin,
      options.topicPartitions ?? dataset.options.partitions,
      log,
    );
  } finally {
    await admin.disconnect();
  }
  const ids = await registerContractSchemas(codec);
  const encoder = new DatasetEncoder(ids, partitions, batchSize);

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
    batches: Iterable<EncodedBatch>,
  ): Promise<PhaseReport<T>> => {
    const byTopic = zero(topics);
    const t0 = performance.now();
    let done = 0;
    let bytes = 0;
    let failure: unknown = null;
    const inFlight = new Set<Promise<void>>();
    // CDC rows one request after another: requests in flight together may land in either order,
    // and a row's order in its partition is its order in the seller database (Debezium's own
    // guarantee) — an owner move that overtakes the snapshot row would make the moved-to merchant
    // the first owner. Events may overlap: their postings do not depend on their order.
    const limit = name === "cdc" ? 1 : maxInFlight;
    const pace = name === "events" ? options.eventsPerSecond : undefined;
    let sent = 0;
    for (const batch of batches) {
      if (pace) {
        const due = t0 + (sent / pace) * 1000;
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      }
      sent += batch.count;
      const topicMessages = unpack(batch);
      for (const { topic, messages } of topicMessages) byTopic[topic as T] += messages.length;
      bytes += batch.bytes;
      const p: Promise<void> = producer
        .sendBatch({ topicMessages, acks: -1, compression })
        .then((metadata) => {
          if (name === "events") options.onEventsAcked?.(ackedRanges(topicMessages, metadata), Date.now());
          done += batch.count;
          const elapsedMs = performance.now() - t0;
          options.onProgress?.({ phase: name, done, total, elapsedMs, rate: done / (elapsedMs / 1000) });
        })
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      while (inFlight.size >= limit) await Promise.race(inFlight);
      if (failure) throw failure;
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    const ms = performance.now() - t0;
    const messages = Object.values<number>(byTopic).reduce((a, b) => a + b, 0);
    return { messages, byTopic, bytes, ms, rate: messages / (ms / 1000) };
  };

  try {
    const cdc = await phase(
      "cdc",
      ALL_CDC_TOPICS,
      dataset.cdcCount,
      encodedBatches(dataset.cdc(), encoder, (item) => encoder.cdc(item)),
    );
    const generated = encodedBatches(dataset.events(), encoder, (item) => encoder.event(item));
    // Paced (bench --live), the events are generated and encoded before the first is sent, up to
    // a bound: upstream services run on machines of their own, and here the simulator's work
    // would take its share of two cores from the pipeline measured.
    const eventBatches = options.eventsPerSecond
      ? preparedAhead(generated, options.preparedEventBytes ?? PREPARED_EVENT_BYTES)
      : generated;
    await options.beforeEvents?.();
    const events = await phase("events", ALL_SOURCE_TOPICS, dataset.options.events, eventBatches);
    return { cdc, events, totalMs: performance.now() - started };
  } finally {
    await producer.disconnect();
  }
}
