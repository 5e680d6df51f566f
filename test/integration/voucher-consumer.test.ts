import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import {
  inMemoryApplied,
  type RecordMeta,
  startVoucherConsumer,
  type Voucher,
  type VoucherConsumer,
} from "../../examples/voucher-consumer.js";
import { groups } from "../../src/config.js";
import { commitGroupOffsets, startGroupAtEnd } from "../../src/kafka/group-offsets.js";
import { migrate } from "../../src/sinks/migrate.js";
import { ALL_SOURCE_TOPICS, VOUCHER_TOPIC } from "../../src/topics.js";
import { PostingService } from "../../src/topology/posting-service.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";
import { connectKafka, endOffsetsOf, type TestKafka, testConfig } from "../support/pipeline.js";
import { publishCdc, publishEvents, SCENARIO, scenarioIds } from "../support/scenario.js";
import { uniqueName } from "../support/stack.js";

interface Seen {
  voucher: Voucher;
  meta: RecordMeta;
}

/** Waits until `done()` or fails after the timeout, saying what it saw. */
async function until(done: () => boolean, what: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await sleep(100);
  }
}

const units = (decimal: string) => BigInt(decimal.replace(".", ""));

describe("examples/voucher-consumer.ts against the real pipeline's finance.voucher", () => {
  const config = testConfig();
  const ids = scenarioIds();
  const applied = inMemoryApplied();
  const seen: Seen[] = [];
  let duplicatesOfM = 0;
  let k: TestKafka;
  let service: PostingService;
  let consumer: VoucherConsumer | undefined;
  let voucherStart: Map<number, string>;
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1 });
  const groupId = uniqueName("voucher-consumer");

  before(async () => {
    k = await connectKafka(config);
    await startGroupAtEnd(k.kafka, k.admin, groups(config).topology, ALL_SOURCE_TOPICS);
    // The consumer's group starts at the current end: it sees this test's vouchers, not the topic's history.
    await startGroupAtEnd(k.kafka, k.admin, groupId, [VOUCHER_TOPIC]);
    voucherStart = await endOffsetsOf(k.admin, VOUCHER_TOPIC);
    await publishCdc(k, ids);
    await migrate(pool, log); // the topology keeps the reference versions it sees in Postgres
    service = new PostingService({ config, kafka: k.kafka, codec: k.codec, log, metrics, pool });
    await service.start();
    await publishEvents(k, ids);

    const countingApplied = {
      has: async (id: string) => {
        const has = await applied.has(id);
        if (has && seen.some((s) => s.voucher.voucherId === id)) duplicatesOfM++;
        return has;
      },
      add: (id: string) => applied.add(id),
    };
    consumer = await startVoucherConsumer({
      brokers: config.KAFKA_BROKERS,
      registryUrl: config.SCHEMA_REGISTRY_URL,
      groupId,
      applied: countingApplied,
      apply: async (voucher, meta) => {
        if (voucher.merchantId === ids.M) seen.push({ voucher, meta });
      },
    });
    await until(
      () => seen.length + duplicatesOfM >= SCENARIO.voucherRecords,
      () => `applied ${seen.length}, duplicates ${duplicatesOfM} of merchant ${ids.M}`,
    );
  });

  after(async () => {
    await consumer?.stop();
    await service?.stop();
    await pool.end();
    await k?.close();
  });

  it("applies each distinct voucher once and recognizes every redelivered or re-published one by voucherId", () => {
    assert.equal(seen.length, SCENARIO.distinctVouchers);
    assert.equal(duplicatesOfM, SCENARIO.voucherRecords - SCENARIO.distinctVouchers);
    assert.equal(new Set(seen.map((s) => s.voucher.voucherId)).size, seen.length);
    const kinds: Record<string, number> = {};
    for (const { voucher } of seen) kinds[voucher.kind] = (kinds[voucher.kind] ?? 0) + 1;
    assert.deepEqual(kinds, SCENARIO.posted);
  });

  it("gets exact decimal amounts and balanced lines", () => {
    for (const { voucher } of seen) {
      assert.match(voucher.amount, /^-?\d+\.\d{4}$/);
      const debit = voucher.lines.filter((l) => l.side === "DEBIT").reduce((s, l) => s + units(l.amount), 0n);
      const credit = voucher.lines
        .filter((l) => l.side === "CREDIT")
        .reduce((s, l) => s + units(l.amount), 0n);
      assert.equal(debit, credit, voucher.idempotencyKey);
    }
    const receipt = seen.find((s) => s.voucher.kind === "SALE_RECEIPT" && s.voucher.amount === "200000.0000");
    assert.ok(receipt, `a cash receipt of 200000.0000: ${seen.map((s) => s.voucher.amount).join(", ")}`);
  });

  it("reads one merchant's vouchers from one partition, keyed by merchantId, in offset order", () => {
    assert.deepEqual([...new Set(seen.map((s) => s.meta.key))], [ids.M]);
    assert.equal(new Set(seen.map((s) => s.meta.partition)).size, 1);
    const offsets = seen.map((s) => BigInt(s.meta.offset));
    assert.deepEqual(
      offsets,
      [...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  });

  it("a second consumer replaying the same records with the same applied-set applies nothing again", async () => {
    await consumer?.stop();
    consumer = undefined;
    const replayGroup = uniqueName("voucher-consumer-replay");
    await commitGroupOffsets(
      k.kafka,
      k.admin,
      replayGroup,
      [...voucherStart].map(([partition, offset]) => ({ topic: VOUCHER_TOPIC, partition, offset })),
    );
    let appliedAgain = 0;
    const replay = await startVoucherConsumer({
      brokers: config.KAFKA_BROKERS,
      registryUrl: config.SCHEMA_REGISTRY_URL,
      groupId: replayGroup,
      applied,
      apply: async (voucher) => {
        if (voucher.merchantId === ids.M) appliedAgain++;
      },
    });
    try {
      const ofM = seen.map((s) => s.voucher.voucherId);
      // Every voucher record of this merchant comes by again; all are duplicates now.
      await until(
        () => replay.stats.duplicates >= SCENARIO.voucherRecords,
        () => `duplicates ${replay.stats.duplicates}, received ${replay.stats.received}`,
      );
      assert.equal(appliedAgain, 0);
      for (const id of ofM) assert.ok(await applied.has(id));
    } finally {
      await replay.stop();
    }
  });
});
