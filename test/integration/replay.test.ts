import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { redriveCommand } from "../../src/commands/redrive.js";
import { type ReplaySummary, replayCommand } from "../../src/commands/replay.js";
import { type Config, groups, loadConfig } from "../../src/config.js";
import type { Voucher } from "../../src/domain/voucher.js";
import { voucherIdOf } from "../../src/ids.js";
import { commitGroupOffsets } from "../../src/kafka/group-offsets.js";
import { money } from "../../src/money.js";
import { loadSchema } from "../../src/schemas.js";
import { SINK_TOPICS, SinkService } from "../../src/sinks/sink-service.js";
import {
  ALL_SOURCE_TOPICS,
  DLQ_TOPIC,
  SOURCE_TOPICS,
  VOUCHER_TOPIC,
  valueSubject,
} from "../../src/topics.js";
import { PostingService } from "../../src/topology/posting-service.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";
import { connectKafka, deploymentOn, produce, type TestKafka } from "../support/pipeline.js";
import {
  type PublishedScenario,
  publishCdc,
  publishEvents,
  publishPurchaseOrder,
  SCENARIO,
  scenarioIds,
} from "../support/scenario.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

const exec = promisify(execFile);
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

const deployment = (db: ThrowawayDb) => deploymentOn(db.url);

/** Points a deployment's groups at the offsets captured before the scenario was published. */
async function startGroupsAt(
  k: TestKafka,
  config: Config,
  at: Map<string, { partition: number; offset: string }[]>,
) {
  const offsets = [...at].flatMap(([topic, partitions]) => partitions.map((p) => ({ topic, ...p })));
  const isSource = (o: { topic: string }) => (ALL_SOURCE_TOPICS as readonly string[]).includes(o.topic);
  await commitGroupOffsets(k.kafka, k.admin, groups(config).topology, offsets.filter(isSource));
  await commitGroupOffsets(
    k.kafka,
    k.admin,
    groups(config).sink,
    offsets.filter((o) => !isSource(o)),
  );
}

describe("replay: source events to committed Postgres rows, exactly once in effect", () => {
  const ids = scenarioIds();
  let db: ThrowawayDb;
  let first: ReturnType<typeof deployment>;
  let k: TestKafka;
  let summary: ReplaySummary;
  let published: PublishedScenario;
  const startOffsets = new Map<string, { partition: number; offset: string }[]>();

  const query = async <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => {
    const pool = db.pool(1);
    const { rows } = await pool.query<R>(sql, params);
    return rows;
  };
  const countFor = async (table: "voucher" | "ledger_line", merchantId: string) =>
    Number(
      (
        await query<{ n: string }>(
          table === "voucher"
            ? "SELECT count(*) n FROM finance.voucher WHERE merchant_id = $1"
            : "SELECT count(*) n FROM finance.ledger_line l JOIN finance.voucher v USING (voucher_id) WHERE v.merchant_id = $1",
          [merchantId],
        )
      )[0]?.n,
    );

  before(async () => {
    db = await createThrowawayDb();
    first = deployment(db);
    k = await connectKafka(first.config);
    for (const topic of [...ALL_SOURCE_TOPICS, ...SINK_TOPICS]) {
      startOffsets.set(
        topic,
        (await k.admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })),
      );
    }
    await startGroupsAt(k, first.config, startOffsets);
    await publishCdc(k, ids);
    published = await publishEvents(k, ids);
    summary = await replayCommand({ migrate: true, progress: false }, first.env);
  });

  after(async () => {
    await k?.close();
    await db?.drop();
  });

  it("reads every event once and books each expected voucher once", () => {
    assert.deepEqual(summary.eventsByTopic, {
      [SOURCE_TOPICS.paymentSuccess]: 6,
      [SOURCE_TOPICS.purchaseOrderReceived]: 2,
      [SOURCE_TOPICS.inventoryIssuedForSale]: 2,
      [SOURCE_TOPICS.inventoryAdjusted]: 1,
    });
    assert.deepEqual(summary.vouchersPosted, SCENARIO.posted);
    assert.deepEqual(summary.voucherReplays, { SALE_RECEIPT: 4, SALE_CHANGE_RETURN: 2 });
    assert.deepEqual(summary.skips, SCENARIO.skips);
    assert.deepEqual(summary.deadLetters, {
      UNDECODABLE: 1,
      INVALID_PAYLOAD: 1,
      CROSS_TENANT: 1,
      UNRESOLVED: 1,
    });
    assert.equal(summary.contentConflicts, 0);
  });

  it("lands the exact rows in voucher and ledger_line", async () => {
    const keys = (
      await query<{ idempotency_key: string }>(
        "SELECT idempotency_key FROM finance.voucher WHERE merchant_id = $1 ORDER BY 1",
        [ids.M],
      )
    ).map((r) => r.idempotency_key);
    assert.deepEqual(keys, [
      `INVENTORY_ADJUSTMENT:${ids.M}:INVENTORY_TRACKING:${ids.IT}`,
      `PURCHASE_PAYMENT:${ids.M}:PURCHASE_ORDER:${ids.PO}`,
      `SALE_CHANGE_RETURN:${ids.M}:SALE_ORDER:${ids.SO}:att-cash`,
      `SALE_COGS:${ids.M}:SALE_ORDER:${ids.SO}:att-cash`,
      `SALE_RECEIPT:${ids.M}:SALE_ORDER:${ids.SO}:att-card`,
      `SALE_RECEIPT:${ids.M}:SALE_ORDER:${ids.SO}:att-cash`,
    ]);
    assert.equal(await countFor("ledger_line", ids.M), SCENARIO.ledgerLines);
    const poKey = `PURCHASE_PAYMENT:${ids.M}:PURCHASE_ORDER:${ids.PO}`;
    const po = await query<Record<string, string>>(
      "SELECT voucher_id, type, category, amount::text, party_type, party_id, party_name_vi, source_code, origin_topic FROM finance.voucher WHERE idempotency_key = $1",
      [poKey],
    );
    assert.deepEqual(po[0], {
      voucher_id: voucherIdOf(poKey),
      type: "PAYMENT",
      category: "PURCHASE",
      amount: "1000000.0000",
      party_type: "VENDOR",
      party_id: ids.VENDOR,
      party_name_vi: "Công ty Sữa",
      source_code: "PO-000777",
      origin_topic: SOURCE_TOPICS.purchaseOrderReceived,
    });
    const lines = await query<{ line_no: number; side: string; account_id: string; amount: string }>(
      "SELECT line_no, side, account_id, amount::text FROM finance.ledger_line WHERE voucher_id = $1 ORDER BY line_no",
      [voucherIdOf(poKey)],
    );
    assert.deepEqual(lines, [
      { line_no: 1, side: "CREDIT", account_id: ids.CASH, amount: "300000.0000" },
      { line_no: 2, side: "CREDIT", account_id: ids.BANK, amount: "200000.2500" },
      { line_no: 3, side: "DEBIT", account_id: ids.acct("INVENTORY"), amount: "1000000.0000" },
      { line_no: 4, side: "CREDIT", account_id: ids.acct("ACCOUNTS_PAYABLE"), amount: "499999.7500" },
    ]);
  });

  it("every voucher balances in SQL: sum of debits = sum of credits = amount", async () => {
    const unbalanced = await query(`
      SELECT v.idempotency_key FROM finance.voucher v JOIN finance.ledger_line l USING (voucher_id)
      GROUP BY v.voucher_id, v.idempotency_key, v.amount
      HAVING sum(l.amount) FILTER (WHERE l.side = 'DEBIT') IS DISTINCT FROM v.amount
          OR sum(l.amount) FILTER (WHERE l.side = 'CREDIT') IS DISTINCT FROM v.amount`);
    assert.deepEqual(unbalanced, []);
    assert.equal(await countFor("voucher", ids.M), SCENARIO.distinctVouchers);
  });

  it("seeds both merchants' accounts and keeps the CDC'd bank account in finance.account", async () => {
    const rows = await query<{ merchant_id: string; n: string }>(
      "SELECT merchant_id, count(*) n FROM finance.account WHERE merchant_id IN ($1, $2) GROUP BY 1 ORDER BY 1",
      [ids.M, ids.OTHER],
    );
    assert.deepEqual(rows, [
      { merchant_id: ids.M, n: "8" },
      { merchant_id: ids.OTHER, n: "7" },
    ]);
  });

  it("keeps each dead letter's original bytes and reason in finance.dead_letter", async () => {
    const rows = await query<{ reason: string; value: Buffer }>(
      "SELECT reason, value FROM finance.dead_letter",
    );
    for (const [name, reason] of [
      ["garbage", "UNDECODABLE"],
      ["invalid", "INVALID_PAYLOAD"],
      ["crossTenant", "CROSS_TENANT"],
      ["unresolved", "UNRESOLVED"],
    ] as const) {
      const row = rows.find((r) => r.value.equals(published.bad[name]));
      assert.equal(row?.reason, reason, name);
    }
  });

  it("replaying everything again with new groups adds no row: every voucher is an idempotent replay", async () => {
    const again = deployment(db);
    await startGroupsAt(k, again.config, startOffsets);
    const before = await countFor("voucher", ids.M);
    const second = await replayCommand({ migrate: false, progress: false }, again.env);
    assert.equal(sum(second.vouchersPosted), 0);
    // The sink reads the first run's 12 voucher records and the 12 this run produced again.
    assert.equal(sum(second.voucherReplays), 2 * SCENARIO.voucherRecords);
    assert.equal(await countFor("voucher", ids.M), before);
    assert.equal(await countFor("ledger_line", ids.M), SCENARIO.ledgerLines);
    assert.equal((await query("SELECT 1 FROM finance.dead_letter")).length, SCENARIO.deadLetters);
  });

  it("a voucher with a known key and different content is a counted conflict; the original stands (CLI, exit 0)", async () => {
    const poKey = `PURCHASE_PAYMENT:${ids.M}:PURCHASE_ORDER:${ids.PO}`;
    const schemaId = await k.codec.register(
      valueSubject(VOUCHER_TOPIC),
      loadSchema(valueSubject(VOUCHER_TOPIC)),
    );
    const forged: Voucher = {
      voucherId: voucherIdOf(poKey),
      idempotencyKey: poKey,
      merchantId: ids.M,
      type: "PAYMENT",
      kind: "PURCHASE_PAYMENT",
      category: "PURCHASE",
      currency: "VND",
      amount: money("1"),
      party: { type: "NONE", id: null, name: null },
      reason: { en: "forged", vi: "giả" },
      source: { type: "PURCHASE_ORDER", id: ids.PO, code: "PO-000777" },
      origin: { eventId: "forged", topic: SOURCE_TOPICS.purchaseOrderReceived, partition: 0, offset: 0 },
      occurredAt: 0,
      lines: [
        { lineNo: 1, accountId: ids.CASH, accountCode: "CASH", side: "CREDIT", amount: money("1") },
        {
          lineNo: 2,
          accountId: ids.acct("INVENTORY"),
          accountCode: "INVENTORY",
          side: "DEBIT",
          amount: money("1"),
        },
      ],
    };
    await produce(k.kafka, VOUCHER_TOPIC, [{ key: ids.M, value: k.codec.encode(schemaId, forged) }]);
    const { stdout } = await exec(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "replay", "--json", "--no-progress"],
      { env: first.env },
    );
    const cli = JSON.parse(stdout) as ReplaySummary;
    assert.equal(cli.contentConflicts, 1);
    assert.equal(sum(cli.vouchersPosted), 0);
    const stored = await query<{ amount: string }>(
      "SELECT amount::text FROM finance.voucher WHERE idempotency_key = $1",
      [poKey],
    );
    assert.deepEqual(stored, [{ amount: "1000000.0000" }]);
    assert.equal(
      (await query("SELECT 1 FROM finance.content_conflict WHERE idempotency_key = $1", [poKey])).length,
      1,
    );
  });

  it("a crash between the Postgres commit and the offset commit replays the batch with no duplicate", async () => {
    const it2 = `it2-${ids.run}`;
    const key = `INVENTORY_ADJUSTMENT:${ids.M}:INVENTORY_TRACKING:${it2}`;
    const schemaId = k.schemaIds.get(valueSubject(SOURCE_TOPICS.inventoryAdjusted)) ?? 0;
    await produce(k.kafka, SOURCE_TOPICS.inventoryAdjusted, [
      {
        key: it2,
        value: k.codec.encode(schemaId, {
          eventId: `evt-${it2}`,
          occurredAt: Date.UTC(2026, 0, 16),
          merchantId: ids.M,
          currency: "VND",
          inventoryTrackingId: it2,
          productVariantId: "pv",
          valueDelta: money("12.3456"),
          reason: null,
        }),
      },
    ]);
    const pool = db.pool(2);
    let crashed!: () => void;
    const crash = new Promise<void>((resolve) => {
      crashed = resolve;
    });
    const resources = { config: loadConfig(first.env), kafka: k.kafka, codec: k.codec, log, metrics, pool };
    const posting = new PostingService(resources);
    const sink = new SinkService({
      ...resources,
      onFlush: (n) => {
        if (n === 0) return;
        crashed();
        throw new Error("injected crash: Postgres committed, Kafka offsets not");
      },
    });
    await Promise.all([posting.start(), sink.start()]);
    await crash;
    await Promise.all([posting.stop(), sink.stop()]);
    assert.equal((await query("SELECT 1 FROM finance.voucher WHERE idempotency_key = $1", [key])).length, 1);

    const restart = await replayCommand({ migrate: false, progress: false }, first.env);
    assert.equal(sum(restart.vouchersPosted), 0);
    assert.ok((restart.voucherReplays.INVENTORY_ADJUSTMENT ?? 0) >= 1);
    assert.equal((await query("SELECT 1 FROM finance.voucher WHERE idempotency_key = $1", [key])).length, 1);
    assert.equal(
      (await query("SELECT 1 FROM finance.ledger_line WHERE voucher_id = $1", [voucherIdOf(key)])).length,
      2,
    );
  });

  it("redrives UNRESOLVED dead letters once the missing purchase order exists, and the replay posts them", async () => {
    const missingPo = `po-missing-${ids.run}`;
    await publishPurchaseOrder(k, ids, missingPo, "PO-000778");
    const dlqStart = startOffsets.get(DLQ_TOPIC) ?? [];
    await commitGroupOffsets(
      k.kafka,
      k.admin,
      `${first.config.CONSUMER_GROUP}.redrive`,
      dlqStart.map((p) => ({ topic: DLQ_TOPIC, ...p })),
    );
    const redriven = await redriveCommand(["UNRESOLVED"], first.env);
    assert.ok((redriven.redriven.UNRESOLVED ?? 0) >= 1, JSON.stringify(redriven));
    assert.equal(redriven.redriven.INVALID_PAYLOAD, undefined);
    assert.ok((redriven.kept.INVALID_PAYLOAD ?? 0) >= 1);

    const after = await replayCommand({ migrate: false, progress: false }, first.env);
    assert.equal(after.vouchersPosted.PURCHASE_PAYMENT, 1);
    const key = `PURCHASE_PAYMENT:${ids.M}:PURCHASE_ORDER:${missingPo}`;
    const rows = await query<{ source_code: string }>(
      "SELECT source_code FROM finance.voucher WHERE idempotency_key = $1",
      [key],
    );
    assert.deepEqual(rows, [{ source_code: "PO-000778" }]);
  });
});
