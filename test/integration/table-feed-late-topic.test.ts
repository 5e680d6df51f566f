import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TableFeed } from "../../src/enrich/table-feed.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { ensureTopics } from "../../src/kafka/client.js";
import { CDC_TOPICS } from "../../src/topics.js";
import { connectKafka, type TestKafka, testConfig } from "../support/pipeline.js";
import { publishCdc, scenarioIds } from "../support/scenario.js";
import { testTableFeed } from "../support/table-feed.js";

const LATE = CDC_TOPICS.vendor;

async function until(
  what: string,
  holds: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

describe("materialized tables: a CDC topic created after the start", () => {
  let k: TestKafka;
  let feed: TableFeed;
  const tables = new MaterializedTables();
  const ids = scenarioIds();

  before(async () => {
    const config = testConfig();
    k = await connectKafka(config);
    await k.admin.deleteTopics({ topics: [LATE], timeout: 30_000 });
    await until(
      "the vendor CDC topic is deleted",
      async () => !(await k.admin.listTopics()).includes(LATE),
      60_000,
    );
    feed = testTableFeed(k, config, tables, { lateTopicPollMs: 500 });
    await feed.start();
  });

  after(async () => {
    await feed?.stop();
    // Whatever happened, later tests find the topic in place.
    await ensureTopics(k.admin, [LATE], 3).catch(() => undefined);
    await k?.close();
  });

  it("is followed once it exists: its rows reach the tables without a restart", async () => {
    assert.equal(tables.vendor(ids.VENDOR, Date.now()), undefined);
    await ensureTopics(k.admin, [LATE], 3);
    await publishCdc(k, ids);
    await until(
      "the vendor reaches the tables",
      () => tables.vendor(ids.VENDOR, Date.now()) !== undefined,
      30_000,
    );
    assert.ok(tables.merchant(ids.M, Date.now()), "the topics present at the start are followed as before");
  });

  it("stops with its late consumers, and stays stopped", async () => {
    await feed.stop();
    const before = tables.sizes.vendors.entities;
    await publishCdc(k, { ...ids, VENDOR: `${ids.VENDOR}-after-stop` });
    await sleep(2_000);
    assert.equal(tables.sizes.vendors.entities, before);
  });
});
