import { randomUUID } from "node:crypto";
import { type Admin, type IHeaders, type Kafka, type Message, Partitioners } from "kafkajs";
import { AvroCodec } from "../../src/avro/codec.js";
import { type Config, groups, loadConfig } from "../../src/config.js";
import { createKafka, ensureTopics } from "../../src/kafka/client.js";
import { startGroupAtEnd } from "../../src/kafka/group-offsets.js";
import { CONTRACT_SUBJECTS, loadSchema } from "../../src/schemas.js";
import { SINK_TOPICS } from "../../src/sinks/sink-service.js";
import { ALL_CDC_TOPICS, ALL_SOURCE_TOPICS, DLQ_TOPIC, VOUCHER_TOPIC } from "../../src/topics.js";
import { log } from "./log.js";
import { ensureStack } from "./stack.js";

/**
 * A pipeline configuration of its own for one test: a unique consumer-group prefix, quick
 * resolution timeout, no metrics port. Topic names are the contract's, shared by all tests, so
 * each test starts its groups at the current end and tells its data apart by unique ids.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    CONSUMER_GROUP: `test-${randomUUID()}`,
    METRICS_PORT: "0",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    RESOLVE_TIMEOUT_MS: "1500",
    SINK_LINGER_MS: "50",
    ...overrides,
  });
}

export interface TestKafka {
  kafka: Kafka;
  admin: Admin;
  codec: AvroCodec;
  schemaIds: Map<string, number>;
  close(): Promise<void>;
}

/** Connects, creates the contract topics and registers their schemas. */
export async function connectKafka(config: Config): Promise<TestKafka> {
  await ensureStack();
  const kafka = createKafka(config, log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [...ALL_SOURCE_TOPICS, ...ALL_CDC_TOPICS, VOUCHER_TOPIC, DLQ_TOPIC], 3);
  const codec = new AvroCodec({ url: config.SCHEMA_REGISTRY_URL });
  const schemaIds = new Map<string, number>();
  for (const s of CONTRACT_SUBJECTS) schemaIds.set(s, await codec.register(s, loadSchema(s)));
  return { kafka, admin, codec, schemaIds, close: () => admin.disconnect() };
}

/** Starts a deployment's topology and sink groups at the topics' current ends: it sees only what comes next. */
export async function startGroupsAtEnd(k: TestKafka, config: Config): Promise<void> {
  await Promise.all([
    startGroupAtEnd(k.kafka, k.admin, groups(config).topology, ALL_SOURCE_TOPICS),
    startGroupAtEnd(k.kafka, k.admin, groups(config).sink, SINK_TOPICS),
  ]);
}

export async function endOffsetsOf(admin: Admin, topic: string): Promise<Map<number, string>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/**
 * Reads a topic from the given offsets until `enough` says so (or the timeout), with a
 * throwaway group, so tests see exactly the records produced after they captured the offsets.
 */
export async function readFrom(
  kafka: Kafka,
  topic: string,
  from: Map<number, string>,
  enough: (records: ReadRecord[]) => boolean,
  timeoutMs = 30_000,
): Promise<ReadRecord[]> {
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  const records: ReadRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, offset] of from) consumer.seek({ topic, partition, offset });
  });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (BigInt(message.offset) < BigInt(from.get(partition) ?? "0")) return;
      records.push({
        partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        headers: message.headers ?? {},
      });
      if (enough(records)) done();
    },
  });
  const timer = setTimeout(done, timeoutMs);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return records;
}

export async function produce(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, messages, acks: -1 });
  await producer.disconnect();
}

/** When the scenario's CDC rows were committed in the source database, unless a test says. */
export const CDC_COMMIT_TIME = 1_767_225_600_000;

/**
 * A Debezium envelope as the PostgreSQL connector writes it, committed at `at`; a delete (op d)
 * carries the row in `before`. The connector stamps its own `ts_ms` a little later.
 */
export function debezium(
  table: string,
  op: string,
  row: Record<string, unknown> | null,
  at = CDC_COMMIT_TIME,
) {
  return {
    before: op === "d" ? row : null,
    after: op === "d" ? null : row,
    source: {
      version: "2.7.0.Final",
      connector: "postgresql",
      name: "nx.seller",
      ts_ms: at,
      snapshot: op === "r" ? "true" : "false",
      db: "seller",
      schema: "public",
      table,
      txId: null,
      lsn: null,
    },
    op,
    ts_ms: at + 5,
  };
}

/** The environment of one pipeline deployment under test: its own consumer groups and database. */
export function deploymentOn(databaseUrl: string): { env: NodeJS.ProcessEnv; config: Config } {
  const config = testConfig({ DATABASE_URL: databaseUrl });
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    CONSUMER_GROUP: config.CONSUMER_GROUP,
    METRICS_PORT: "0",
    RESOLVE_TIMEOUT_MS: "1500",
    SINK_LINGER_MS: "50",
    LOG_LEVEL: "warn",
  };
  return { env, config };
}

/** Each partition's end offset (high watermark) of the given topics, as group offsets to commit. */
export async function endsOf(
  k: TestKafka,
  topics: readonly string[],
): Promise<{ topic: string; partition: number; offset: string }[]> {
  const all = await Promise.all(
    topics.map(async (topic) =>
      (await k.admin.fetchTopicOffsets(topic)).map((p) => ({
        topic,
        partition: p.partition,
        offset: p.high,
      })),
    ),
  );
  return all.flat();
}
