import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { groups } from "../../src/config.js";
import type { Voucher } from "../../src/domain/voucher.js";
import { seededAccountId, voucherIdOf } from "../../src/ids.js";
import { startGroupAtEnd } from "../../src/kafka/group-offsets.js";
import { money } from "../../src/money.js";
import { migrate } from "../../src/sinks/migrate.js";
import { ALL_SOURCE_TOPICS, DLQ_TOPIC, SOURCE_TOPICS, VOUCHER_TOPIC } from "../../src/topics.js";
import { PostingService } from "../../src/topology/posting-service.js";
import { comparable } from "../support/comparable.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";
import {
  connectKafka,
  endOffsetsOf,
  type ReadRecord,
  readFrom,
  type TestKafka,
  testConfig,
} from "../support/pipeline.js";
import {
  type PublishedScenario,
  publishCdc,
  publishEvents,
  SCENARIO,
  scenarioIds,
} from "../support/scenario.js";

describe("posting topology against the real broker and registry", () => {
  const config = testConfig();
  const ids = scenarioIds();
  const { run, M, BANK, VENDOR, PO, CASH } = ids;
  let k: TestKafka;
  let service: PostingService;
  let vouchers: Voucher[];
  let dlq: ReadRecord[];
  let bad: PublishedScenario["bad"];
  // Only dead letters too large for their topic are written by the topology; none here.
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 1 });

  before(async () => {
    k = await connectKafka(config);
    await startGroupAtEnd(k.kafka, k.admin, groups(config).topology, ALL_SOURCE_TOPICS);
    const voucherStart = await endOffsetsOf(k.admin, VOUCHER_TOPIC);
    const dlqStart = await endOffsetsOf(k.admin, DLQ_TOPIC);
    await publishCdc(k, ids);
    await migrate(pool, log); // the topology keeps the reference versions it sees in Postgres
    service = new PostingService({ config, kafka: k.kafka, codec: k.codec, log, metrics, pool });
    await service.start();
    ({ bad } = await publishEvents(k, ids));

    const mine = (r: { value: Buffer | null }) => k.codec.decode<Voucher>(r.value).merchantId === M;
    const records = await readFrom(
      k.kafka,
      VOUCHER_TOPIC,
      voucherStart,
      (rs) => rs.filter(mine).length >= SCENARIO.voucherRecords,
    );
    vouchers = records.filter(mine).map((r) => k.codec.decode<Voucher>(r.value));
    const dlqMine = (r: { value: Buffer | null }) =>
      [bad.garbage, bad.invalid, bad.crossTenant, bad.unresolved].some(
        (b) => r.value !== null && b.equals(r.value),
      );
    dlq = (
      await readFrom(k.kafka, DLQ_TOPIC, dlqStart, (rs) => rs.filter(dlqMine).length >= SCENARIO.deadLetters)
    ).filter(dlqMine);
  });

  after(async () => {
    await service?.stop();
    await k?.close();
    await pool.end();
  });

  const byKey = (key: string) => vouchers.filter((v) => v.idempotencyKey === key);
  const lines = (v: Voucher | undefined) =>
    v?.lines.map((l) => [l.lineNo, l.side, l.accountId, l.amount.toFixed(4)]);

  it("books a cash attempt with change as a RECEIPT and a change-return PAYMENT", () => {
    const receipt = byKey(`SALE_RECEIPT:${M}:SALE_ORDER:so-${run}:att-cash`)[0];
    assert.equal(receipt?.voucherId, voucherIdOf(`SALE_RECEIPT:${M}:SALE_ORDER:so-${run}:att-cash`));
    assert.equal(receipt?.amount.toFixed(4), "200000.0000");
    assert.deepEqual(lines(receipt), [
      [1, "DEBIT", CASH, "200000.0000"],
      [2, "CREDIT", seededAccountId(M, "SALES_REVENUE"), "150000.0000"],
      [3, "CREDIT", seededAccountId(M, "CHANGE_CLEARING"), "50000.0000"],
    ]);
    assert.deepEqual(comparable(receipt?.party), {
      type: "CUSTOMER",
      id: `cust-${run}`,
      name: { en: "Nguyễn Thị Lan", vi: "Nguyễn Thị Lan" },
    });
    assert.deepEqual(comparable(receipt?.source), { type: "SALE_ORDER", id: `so-${run}`, code: "SO-000123" });
    const change = byKey(`SALE_CHANGE_RETURN:${M}:SALE_ORDER:so-${run}:att-cash`)[0];
    assert.equal(change?.type, "PAYMENT");
    assert.deepEqual(lines(change), [
      [1, "DEBIT", seededAccountId(M, "CHANGE_CLEARING"), "50000.0000"],
      [2, "CREDIT", CASH, "50000.0000"],
    ]);
  });

  it("books the card attempt of the split tender on its own money account", () => {
    const card = byKey(`SALE_RECEIPT:${M}:SALE_ORDER:so-${run}:att-card`)[0];
    assert.deepEqual(lines(card), [
      [1, "DEBIT", BANK, "50000.5000"],
      [2, "CREDIT", seededAccountId(M, "SALES_REVENUE"), "50000.5000"],
    ]);
  });

  it("a redelivered and a re-published event produce the same vouchers again, origin aside", () => {
    const copies = byKey(`SALE_RECEIPT:${M}:SALE_ORDER:so-${run}:att-cash`);
    assert.equal(copies.length, 3);
    assert.equal(new Set(copies.map((v) => v.voucherId)).size, 1);
    assert.deepEqual(
      copies.map((v) => v.origin.eventId).sort(),
      [`evt-sale-${run}`, `evt-sale-${run}`, `evt-sale-again-${run}`].sort(),
    );
    assert.equal(byKey(`SALE_RECEIPT:${M}:SALE_ORDER:so-${run}:att-none`).length, 0);
  });

  it("books a purchase with two payments and paid < received against the vendor", () => {
    const [po] = byKey(`PURCHASE_PAYMENT:${M}:PURCHASE_ORDER:${PO}`);
    assert.equal(po?.amount.toFixed(4), "1000000.0000");
    assert.deepEqual(comparable(po?.party), {
      type: "VENDOR",
      id: VENDOR,
      name: { en: "Công ty Sữa", vi: "Công ty Sữa" },
    });
    assert.deepEqual(comparable(po?.source), { type: "PURCHASE_ORDER", id: PO, code: "PO-000777" });
    assert.deepEqual(lines(po), [
      [1, "CREDIT", CASH, "300000.0000"],
      [2, "CREDIT", BANK, "200000.2500"],
      [3, "DEBIT", seededAccountId(M, "INVENTORY"), "1000000.0000"],
      [4, "CREDIT", seededAccountId(M, "ACCOUNTS_PAYABLE"), "499999.7500"],
    ]);
  });

  it("books COGS and a negative inventory adjustment, and skips the zero cost basis", () => {
    assert.deepEqual(lines(byKey(`SALE_COGS:${M}:SALE_ORDER:so-${run}:att-cash`)[0]), [
      [1, "DEBIT", seededAccountId(M, "COGS"), "90000.1234"],
      [2, "CREDIT", seededAccountId(M, "INVENTORY"), "90000.1234"],
    ]);
    assert.equal(byKey(`SALE_COGS:${M}:SALE_ORDER:so-${run}:att-card`).length, 0);
    const [adj] = byKey(`INVENTORY_ADJUSTMENT:${M}:INVENTORY_TRACKING:it-${run}`);
    assert.deepEqual(comparable(adj?.reason), { en: "Hàng hỏng", vi: "Hàng hỏng" });
    assert.deepEqual(lines(adj), [
      [1, "DEBIT", seededAccountId(M, "INVENTORY_ADJUSTMENT"), "25000.5000"],
      [2, "CREDIT", seededAccountId(M, "INVENTORY"), "25000.5000"],
    ]);
  });

  it("emits exactly the expected vouchers, each balanced", () => {
    assert.equal(vouchers.length, SCENARIO.voucherRecords);
    for (const v of vouchers) {
      const debit = v.lines.filter((l) => l.side === "DEBIT").reduce((s, l) => s.plus(l.amount), money(0));
      const credit = v.lines.filter((l) => l.side === "CREDIT").reduce((s, l) => s.plus(l.amount), money(0));
      assert.ok(debit.equals(credit) && debit.equals(v.amount), v.idempotencyKey);
    }
  });

  it("dead-letters each bad event byte for byte with the reason in Kafka Connect's headers", () => {
    const reasonOf = (value: Buffer | null) =>
      String(
        dlq.find((r) => r.value?.equals(value ?? Buffer.alloc(0)))?.headers["finance.dlq.reason"] ??
          "missing",
      );
    assert.equal(reasonOf(bad.garbage), "UNDECODABLE");
    assert.equal(reasonOf(bad.invalid), "INVALID_PAYLOAD");
    assert.equal(reasonOf(bad.crossTenant), "CROSS_TENANT");
    assert.equal(reasonOf(bad.unresolved), "UNRESOLVED");
    const garbage = dlq.find((r) => r.value?.equals(bad.garbage));
    assert.equal(garbage?.key?.toString(), "garbage");
    assert.equal(String(garbage?.headers["x-trace"]), `trace-${run}`);
    assert.equal(String(garbage?.headers["__connect.errors.topic"]), SOURCE_TOPICS.paymentSuccess);
    for (const h of [
      "__connect.errors.partition",
      "__connect.errors.offset",
      "__connect.errors.exception.class.name",
      "__connect.errors.exception.message",
    ]) {
      assert.ok(String(garbage?.headers[h] ?? "").length > 0, h);
    }
  });

  it("nothing of the cross-tenant event is posted, to either merchant", () => {
    assert.equal(vouchers.filter((v) => v.source.id === `so-xt-${run}`).length, 0);
  });
});
