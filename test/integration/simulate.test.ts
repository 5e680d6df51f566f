import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Admin, Kafka } from "kafkajs";
import { AvroCodec } from "../../src/avro/codec.js";
import { ALL_CDC_TOPICS, ALL_SOURCE_TOPICS } from "../../src/topics.js";
import { simulateCommand } from "../../tools/simulate/command.js";
import { type Dataset, type EventItem, generateDataset } from "../../tools/simulate/dataset.js";
import { partitionOf, SIM_TOPICS } from "../../tools/simulate/encode.js";
import { ensureSimulationTopics, publishDataset } from "../../tools/simulate/publish.js";
import { comparable } from "../support/comparable.js";
import { log } from "../support/log.js";
import { ensureStack, type StackEndpoints, testKafka, uniqueName } from "../support/stack.js";

/**
 * The simulator against the real broker and registry. Topic names are fixed by contract and
 * shared with other tests, so everything is measured from the end offsets captured before
 * publishing, and only this data set's messages (recognised by key) are counted.
 */

type Offsets = Map<string, { partition: number; offset: string }[]>;

async function endOffsets(admin: Admin): Promise<Offsets> {
  const out: Offsets = new Map();
  for (const topic of SIM_TOPICS) {
    out.set(
      topic,
      (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })),
    );
  }
  return out;
}

const added = (before: Offsets, after: Offsets, topic: string) => {
  const b = new Map((before.get(topic) ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  return (after.get(topic) ?? []).reduce(
    (n, p) => n + Number(BigInt(p.offset) - (b.get(p.partition) ?? 0n)),
    0,
  );
};

/** Items by key, each key's in their order (Map.groupBy is Node 21+). */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = out.get(key);
    if (group) group.push(item);
    else out.set(key, [item]);
  }
  return out;
}

interface Received {
  topic: string;
  partition: number;
  key: Buffer;
  value: Buffer | null;
}

/** Reads every topic from `from` until `done` says enough (or the timeout), keeping what `keep` accepts. */
async function readFrom(
  kafka: Kafka,
  from: Offsets,
  keep: (m: Received) => boolean,
  done: (got: Received[]) => boolean,
  timeoutMs = 60_000,
): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("simulate-it"), maxWaitTimeInMs: 200 });
  const got: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...SIM_TOPICS], fromBeginning: false });
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const r = { topic: batch.topic, partition: batch.partition, key: m.key as Buffer, value: m.value };
          if (keep(r)) got.push(r);
        }
        if (done(got)) finish();
      },
    });
    for (const [topic, parts] of from) for (const p of parts) consumer.seek({ topic, ...p });
    const timer = setTimeout(finish, timeoutMs);
    await finished;
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

describe("simulate: publishing a data set to the real stack", () => {
  let stack: StackEndpoints;
  let kafka: Kafka;
  let admin: Admin;
  let partitions: Record<string, number>;

  before(async () => {
    stack = await ensureStack();
    kafka = testKafka(stack.kafkaBrokers);
    admin = kafka.admin();
    await admin.connect();
    partitions = await ensureSimulationTopics(admin, 6, log);
  });

  after(async () => {
    await admin?.disconnect();
  });

  it("publishes CDC and events, keyed and partitioned by contract, decodable with the registry's schemas", async () => {
    const seed = Date.now() % 2 ** 31;
    const dataset: Dataset = generateDataset({
      seed,
      merchants: 2,
      events: 200,
      bad: true,
      // Not UNRESOLVED: other tests' pipelines share these topics and would wait on it.
      badReasons: ["UNDECODABLE", "INVALID_PAYLOAD", "CROSS_TENANT"],
      duplicateRate: 0.05,
    });
    const items = [...dataset.events()];
    const cdc = [...dataset.cdc()];
    const mine = new Map<string, Set<string>>(SIM_TOPICS.map((t) => [t, new Set<string>()]));
    for (const i of items) mine.get(i.topic)?.add(i.key);
    for (const c of cdc) mine.get(c.topic)?.add(c.key.id);
    const expectedCount = new Map<string, number>(SIM_TOPICS.map((t) => [t, 0]));
    for (const x of [...items, ...cdc]) expectedCount.set(x.topic, (expectedCount.get(x.topic) ?? 0) + 1);

    const before = await endOffsets(admin);
    const codec = new AvroCodec({ url: stack.schemaRegistryUrl });
    const report = await publishDataset(kafka, codec, log, dataset);
    const afterPublish = await endOffsets(admin);

    assert.equal(report.events.messages, 200, `seed ${seed}`);
    assert.equal(report.cdc.messages, dataset.cdcCount);
    for (const t of ALL_SOURCE_TOPICS) assert.equal(report.events.byTopic[t], expectedCount.get(t));
    for (const t of ALL_CDC_TOPICS) assert.equal(report.cdc.byTopic[t], expectedCount.get(t));
    // At least what we published landed after the captured offsets (other tests may add more).
    for (const t of SIM_TOPICS) assert.ok(added(before, afterPublish, t) >= (expectedCount.get(t) ?? 0), t);

    // Read back only this data set's messages: source keys are UTF-8, CDC keys Avro {id}.
    const keyCodec = new AvroCodec({ url: stack.schemaRegistryUrl });
    const cdcTopics = new Set<string>(ALL_CDC_TOPICS);
    const keyText = async (r: Received) => r.key.toString("utf8");
    const total = [...expectedCount.values()].reduce((a, b) => a + b, 0);
    const raw = await readFrom(
      kafka,
      before,
      (r) => {
        if (cdcTopics.has(r.topic)) return true; // keys decoded below
        return mine.get(r.topic)?.has(r.key.toString("utf8")) ?? false;
      },
      (got) => got.filter((r) => !cdcTopics.has(r.topic)).length >= 200 && got.length >= total,
    );
    await keyCodec.prepare(raw.filter((r) => cdcTopics.has(r.topic)).map((r) => r.key));
    const received: (Received & { id: string })[] = [];
    for (const r of raw) {
      const id = cdcTopics.has(r.topic) ? keyCodec.decode<{ id: string }>(r.key).id : await keyText(r);
      if (mine.get(r.topic)?.has(id)) received.push({ ...r, id });
    }
    for (const t of SIM_TOPICS) {
      assert.equal(received.filter((r) => r.topic === t).length, expectedCount.get(t), `${t} (seed ${seed})`);
    }
    for (const r of received) assert.equal(r.partition, partitionOf(r.key, partitions[r.topic] as number));

    // Decode with the writer schema fetched from the registry: the same values come back.
    await codec.prepare(received.map((r) => r.value));
    const byKey = new Map(received.map((r) => [`${r.topic}/${r.id}`, r]));
    const cdcByKey = groupBy(
      received.filter((r) => cdcTopics.has(r.topic)),
      (r) => `${r.topic}/${r.id}`,
    );
    // Copies of an event share its key: compare each original with the copy bearing its eventId.
    const byEventId = new Map<string, unknown>();
    for (const r of received.filter((x) => !cdcTopics.has(x.topic))) {
      try {
        const decoded = codec.decode<{ eventId: string }>(r.value);
        byEventId.set(decoded.eventId, decoded);
      } catch {
        // the deliberately undecodable ones
      }
    }
    const good = items.filter((i) => i.raw === null && i.delivery === "ORIGINAL");
    for (const item of good.slice(0, 40)) {
      const decoded = byEventId.get((item.event as { eventId: string }).eventId);
      assert.ok(decoded, `${item.topic} ${item.key}`);
      assert.deepEqual(comparable(decoded), comparable(item.event));
    }
    // Each CDC key's messages, in partition order: its rows in commit order, a tombstone after a delete.
    for (const [key, items] of groupBy(cdc, (c) => `${c.topic}/${c.key.id}`)) {
      const got = (cdcByKey.get(key) ?? []).map((r) => (r.value === null ? null : codec.decode(r.value)));
      assert.deepEqual(comparable(got), comparable(items.map((c) => c.value)), key);
    }
    assert.ok(cdc.some((c) => c.value === null) && cdc.some((c) => c.value?.op === "u"), "history published");
    // As Debezium 3.x writes them: ts_ns past 2^53 read back exactly (a bigint), sequence, the snapshot's markers.
    const values = [...cdcByKey.values()].flat().flatMap((r) =>
      r.value === null
        ? []
        : [
            codec.decode<{
              op: string;
              transaction: unknown;
              ts_ns: unknown;
              source: { snapshot: string; sequence: string; ts_ms: number; ts_ns: unknown };
            }>(r.value),
          ],
    );
    for (const v of values) {
      assert.equal(typeof v.ts_ns, "bigint");
      assert.equal(
        v.source.ts_ns,
        BigInt(v.source.ts_ms) * 1_000_000n + ((v.source.ts_ns as bigint) % 1_000_000n),
      );
      assert.equal((JSON.parse(v.source.sequence) as unknown[]).length, 2);
      assert.equal(v.transaction, null);
    }
    const markers = new Set(values.map((v) => v.source.snapshot));
    for (const m of [
      "first",
      "first_in_data_collection",
      "true",
      "last_in_data_collection",
      "last",
      "false",
    ]) {
      assert.ok(markers.has(m), m);
    }
    // Garbage stays garbage; a redelivery is the same bytes on the same partition.
    for (const item of items.filter((i) => i.raw !== null)) {
      const r = byKey.get(`${item.topic}/${item.key}`);
      assert.deepEqual(r?.value, item.raw);
    }
    const redelivered = items.filter((i) => i.delivery === "REDELIVERY");
    for (const item of redelivered) {
      const eventId = (item.event as { eventId: string }).eventId;
      const all = received.filter((r) => r.topic === item.topic && r.id === item.key);
      const copies = all.filter((r) => codec.decode<{ eventId: string }>(r.value).eventId === eventId);
      assert.ok(copies.length >= 2);
      assert.ok(copies.every((c) => c.value?.equals(copies[0]?.value as Buffer)));
      assert.ok(all.every((c) => c.partition === copies[0]?.partition));
    }
    const republished = items.filter(
      (i): i is EventItem & { event: { eventId: string } } => i.delivery === "REPUBLICATION",
    );
    for (const item of republished) {
      const ids = received
        .filter((r) => r.topic === item.topic && r.id === item.key)
        .map((r) => codec.decode<{ eventId: string }>(r.value).eventId);
      assert.ok(ids.includes(item.event.eventId) && new Set(ids).size >= 2);
    }
  });

  it("publishes in small batches too, with the same counts, and awaits beforeEvents between the phases", async () => {
    const steps: string[] = [];
    const dataset = generateDataset({ seed: (Date.now() + 1) % 2 ** 31, merchants: 1, events: 40 });
    const report = await publishDataset(
      kafka,
      new AvroCodec({ url: stack.schemaRegistryUrl }),
      log,
      dataset,
      {
        batchSize: 7,
        onProgress: (p) => steps.push(`${p.phase} ${p.done}/${p.total}`),
        // bench --live starts `run` here: every CDC row acknowledged, no event sent yet
        beforeEvents: async () => {
          steps.push("before events");
          await new Promise((r) => setTimeout(r, 100));
          steps.push("before events done");
        },
      },
    );
    assert.equal(report.events.messages, 40);
    assert.equal(report.cdc.messages, dataset.cdcCount);
    const hook = steps.indexOf("before events");
    assert.equal(steps[hook - 1], `cdc ${dataset.cdcCount}/${dataset.cdcCount}`);
    assert.equal(steps[hook + 1], "before events done");
    assert.match(steps[hook + 2] ?? "", /^events \d+\/40$/);
    assert.equal(steps.filter((s) => s === "before events").length, 1);
  });

  it("the simulate command reads its config from the environment and prints a one-line summary", async () => {
    const lines: string[] = [];
    const report = await simulateCommand({
      seed: (Date.now() + 2) % 2 ** 31,
      merchants: 1,
      events: 30,
      partitions: 6,
      bad: false,
      progress: false,
      out: (line) => lines.push(line),
    });
    assert.equal(report.events.messages, 30);
    const summary = lines.filter((l) => l.startsWith("simulate seed="));
    assert.equal(summary.length, 1);
    assert.match(
      summary[0] as string,
      /^simulate seed=\d+: \d+ CDC rows, 30 events \(payment\.success=\d+ .*events\/s/,
    );
  });
});
