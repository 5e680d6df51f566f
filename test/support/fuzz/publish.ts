import { type Admin, type ConfigResourceTypes, type Kafka, type Message, Partitioners } from "kafkajs";
import { ALL_SOURCE_TOPICS, keySubject, valueSubject } from "../../../src/topics.js";
import { debezium, type TestKafka } from "../pipeline.js";
import type { FuzzInput } from "./corpus.js";
import type { Rng } from "./prng.js";
import { type VariantSchema, variantSubject } from "./variants.js";
import { recordBatchBytes } from "./wire.js";
import type { CdcRow } from "./world.js";

const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** Produce requests well under the broker's limits (its max.message.bytes bounds one partition's batch). */
const CHUNK_BYTES = 700_000;
const CHUNK_MESSAGES = 500;

/**
 * Registers the variant writer schemas under subjects of their own, compatibility NONE (they
 * are not evolutions of anything). Plain HTTP: the registry client refuses unnamed schemas
 * such as `"string"`, which a producer can still register and write.
 */
export async function registerVariants(
  registryUrl: string,
  variants: readonly VariantSchema[],
): Promise<Map<string, number>> {
  const base = registryUrl.replace(/\/$/, "");
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok)
      throw new Error(`fuzz harness: registry ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { id?: number };
  };
  const ids = new Map<string, number>();
  const queue = [...variants];
  const worker = async () => {
    for (let v = queue.shift(); v; v = queue.shift()) {
      const subject = encodeURIComponent(variantSubject(v.name));
      await call("PUT", `/config/${subject}`, { compatibility: "NONE" });
      const { id } = await call("POST", `/subjects/${subject}/versions`, {
        schema: JSON.stringify(v.schema),
      });
      if (typeof id !== "number") throw new Error(`fuzz harness: no id registering ${v.name}`);
      ids.set(variantSubject(v.name), id);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return ids;
}

/** The smallest max.message.bytes among the source topics (the broker's default when not set). */
export async function maxMessageBytes(admin: Admin): Promise<number> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: ALL_SOURCE_TOPICS.map((name) => ({
      type: 2 as ConfigResourceTypes /* TOPIC */,
      name,
      configNames: ["max.message.bytes"],
    })),
  });
  const values = resources.flatMap((r) => r.configEntries.map((e) => Number(e.configValue)));
  const valid = values.filter((v) => Number.isFinite(v) && v > 0);
  return valid.length ? Math.min(...valid) : BROKER_DEFAULT_MAX_MESSAGE_BYTES;
}

/** The world's CDC rows (op r, as a snapshot), one produce per topic. */
export async function publishCdcRows(k: TestKafka, rows: readonly CdcRow[]): Promise<void> {
  const byTopic = new Map<string, Message[]>();
  for (const { topic, table, row } of rows) {
    const key = k.codec.encode(k.schemaIds.get(keySubject(topic)) ?? 0, { id: row.id });
    const value = k.codec.encode(k.schemaIds.get(valueSubject(topic)) ?? 0, debezium(table, "r", row));
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key, value }]);
  }
  const producer = k.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (const [topic, messages] of byTopic) await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Publishes the inputs interleaved (a seeded shuffle), each on a partition the seed picks,
 * inputs of one group next to each other on one partition. Sets each input's partition and
 * offset from the broker's acknowledgements.
 */
export async function publishInputs(
  kafka: Kafka,
  admin: Admin,
  inputs: FuzzInput[],
  rng: Rng,
): Promise<void> {
  const partitions = new Map<string, number>();
  for (const topic of ALL_SOURCE_TOPICS) partitions.set(topic, (await admin.fetchTopicOffsets(topic)).length);

  // Units: single inputs, or a group kept together.
  const groups = new Map<string, FuzzInput[]>();
  const units: FuzzInput[][] = [];
  for (const input of inputs) {
    if (!input.group) units.push([input]);
    else if (groups.has(input.group)) groups.get(input.group)?.push(input);
    else {
      const unit = [input];
      groups.set(input.group, unit);
      units.push(unit);
    }
  }
  const byPartition = new Map<string, FuzzInput[]>();
  for (const unit of rng.shuffle(units)) {
    const topic = (unit[0] as FuzzInput).topic;
    const partition = rng.int(0, (partitions.get(topic) ?? 1) - 1);
    const partitionKey = `${topic}\u0000${partition}`;
    for (const input of unit) input.partition = partition;
    byPartition.set(partitionKey, [...(byPartition.get(partitionKey) ?? []), ...unit]);
  }

  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 2_000 },
  });
  await producer.connect();
  try {
    // One request at a time: offsets are read from each acknowledgement.
    for (const list of byPartition.values()) {
      let i = 0;
      while (i < list.length) {
        const chunk: FuzzInput[] = [];
        let bytes = 0;
        for (; i < list.length && chunk.length < CHUNK_MESSAGES; i++) {
          const input = list[i] as FuzzInput;
          const size = recordBatchBytes(input.key, input.value, input.headers);
          if (chunk.length > 0 && bytes + size > CHUNK_BYTES) break;
          chunk.push(input);
          bytes += size;
        }
        const first = chunk[0] as FuzzInput;
        const [meta] = await producer.send({
          topic: first.topic,
          acks: -1,
          messages: chunk.map((c) => ({
            partition: c.partition,
            key: c.key,
            value: c.value,
            headers: c.headers,
          })),
        });
        if (!meta || meta.partition !== first.partition)
          throw new Error("fuzz harness: unexpected produce response");
        const base = BigInt(meta.baseOffset ?? "-1");
        chunk.forEach((c, j) => {
          c.offset = (base + BigInt(j)).toString();
        });
      }
    }
  } finally {
    await producer.disconnect();
  }
}
