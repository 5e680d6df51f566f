import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import kafkajs from "kafkajs";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { PostgresVersionStore } from "../../src/enrich/version-store.js";
import { migrate } from "../../src/sinks/migrate.js";
import { CDC_TOPICS, keySubject, valueSubject } from "../../src/topics.js";
import { log } from "../support/log.js";
import { connectKafka, debezium, produce, type TestKafka, testConfig } from "../support/pipeline.js";
import { testTableFeed } from "../support/table-feed.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/**
 * SPEC §5 "Finance keeps what it has seen": the vendor CDC topic is compacted for real (tiny
 * segments, any dirty ratio) after an instance saw a vendor's old name; a restarted instance
 * still resolves an event of that time to the old name, from the versions kept in Postgres.
 */
const TOPIC = CDC_TOPICS.vendor;
const COMPACTING = [
  { name: "cleanup.policy", value: "compact" },
  { name: "segment.ms", value: "100" },
  { name: "min.cleanable.dirty.ratio", value: "0.0001" },
  { name: "min.compaction.lag.ms", value: "0" },
  { name: "delete.retention.ms", value: "100" },
];

describe("versions outlive upstream compaction (SPEC §5)", () => {
  const run = Math.random().toString(36).slice(2, 10);
  const vendorId = `vendor-compacted-${run}`;
  const merchantId = `m-compacted-${run}`;
  const T_OLD = Date.UTC(2026, 2, 1);
  const T_EVENT = Date.UTC(2026, 2, 2);
  const T_RENAMED = Date.UTC(2026, 2, 3);
  let k: TestKafka;
  let db: ThrowawayDb;
  let config: ReturnType<typeof testConfig>;
  let restore: { name: string; value: string }[] = [];

  const publishVendor = async (name: string, at: number, id = vendorId, partition?: number) => {
    const key = k.codec.encode(k.schemaIds.get(keySubject(TOPIC)) ?? 0, { id });
    const row = { id, merchant_id: merchantId, name, status: "ACTIVE" };
    const value = k.codec.encode(k.schemaIds.get(valueSubject(TOPIC)) ?? 0, debezium("vendor", "u", row, at));
    await produce(k.kafka, TOPIC, [{ key, value, ...(partition === undefined ? {} : { partition }) }]);
  };

  const loadTables = async (withStore: boolean): Promise<MaterializedTables> => {
    const tables = new MaterializedTables();
    const store = withStore ? new PostgresVersionStore(db.pool(2)) : undefined;
    const feed = testTableFeed(k, config, tables, store ? { store } : {});
    await feed.start();
    await feed.stop();
    return tables;
  };

  /** The vendor's names as the topic holds them now, read from the beginning to the end. */
  const namesOnTopic = async (): Promise<string[]> => {
    const offsets = await k.admin.fetchTopicOffsets(TOPIC);
    const pending = new Set(offsets.filter((p) => p.high !== p.low).map((p) => p.partition));
    const names: string[] = [];
    const consumer = k.kafka.consumer({ groupId: `compaction-reader-${run}-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      if (pending.size === 0) resolve();
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const after =
              m.value && k.codec.decode<{ after: { id: string; name: string } | null }>(m.value).after;
            if (after?.id === vendorId) names.push(after.name);
          }
          const high = offsets.find((p) => p.partition === batch.partition)?.high ?? "0";
          if (BigInt(batch.lastOffset()) + 1n >= BigInt(high)) pending.delete(batch.partition);
          if (pending.size === 0) resolve();
        },
      });
    });
    await Promise.race([done, sleep(20_000, undefined, { ref: false })]);
    await consumer.disconnect();
    return names;
  };

  before(async () => {
    db = await createThrowawayDb();
    config = testConfig({ DATABASE_URL: db.url });
    k = await connectKafka(config);
    await migrate(db.pool(1), log);
    const described = await k.admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: TOPIC }],
    });
    restore = (described.resources[0]?.configEntries ?? [])
      .filter((e) => !e.isDefault && !e.readOnly)
      .map((e) => ({ name: e.configName, value: e.configValue }));
  });

  after(async () => {
    await k?.admin
      .alterConfigs({
        validateOnly: false,
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: restore }],
      })
      .catch(() => undefined);
    await k?.close();
    await db?.drop();
  });

  it("an instance sees the old name, the topic is compacted, and a restart still resolves the event to it", async () => {
    await publishVendor("Old Dairy", T_OLD);
    await publishVendor("New Dairy", T_RENAMED);
    const seen = await loadTables(true);
    assert.equal(seen.vendor(vendorId, T_EVENT)?.name, "Old Dairy");

    await k.admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: COMPACTING }],
    });
    // The active segment is never cleaned: later rows roll it, and the cleaner takes what is behind.
    const deadline = Date.now() + 90_000;
    let names = await namesOnTopic();
    while (names.includes("Old Dairy")) {
      assert.ok(Date.now() < deadline, `the topic was not compacted in time: ${names.join(", ")}`);
      await sleep(1_000);
      for (const p of await k.admin.fetchTopicOffsets(TOPIC)) {
        await publishVendor("filler", Date.now(), `filler-${run}`, p.partition);
      }
      names = await namesOnTopic();
    }
    assert.deepEqual(names, ["New Dairy"], "compaction kept only the latest row of the vendor");

    const forgetful = await loadTables(false);
    assert.equal(
      forgetful.vendor(vendorId, T_EVENT)?.name,
      "New Dairy",
      "without kept versions, history is lost",
    );
    const restarted = await loadTables(true);
    assert.equal(restarted.vendor(vendorId, T_EVENT)?.name, "Old Dairy");
    assert.equal(restarted.vendor(vendorId, T_RENAMED)?.name, "New Dairy");
  });
});
