import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Voucher } from "../../src/domain/voucher.js";
import { seededAccountId } from "../../src/ids.js";
import { money } from "../../src/money.js";
import { loadSchema } from "../../src/schemas.js";
import { contentHash } from "../../src/sinks/content-hash.js";
import { CDC_TOPICS, SOURCE_TOPICS, valueSubject } from "../../src/topics.js";
import { TopologyTestDriver } from "../support/topology-driver.js";

/**
 * The whole topology, records in and vouchers or dead letters out, without a broker (issue 9's
 * edge semantics end to end). Two merchants; M has a bank account besides its seeded ones.
 */
const M = "m-1";
const OTHER = "m-2";
const T0 = Date.UTC(2026, 0, 15, 3, 0, 0);
const merchantRow = (id: string) => ({
  id,
  name: `shop ${id}`,
  currency: "VND",
  status: "ACTIVE",
  created_at: null,
});
const bank = { id: "bank-1", merchant_id: M, code: "BANK_1", name: "VCB", type: "MONEY", status: "ACTIVE" };

function world(options: { resolveTimeoutMs?: number } = {}): TopologyTestDriver {
  return new TopologyTestDriver(options)
    .cdc(CDC_TOPICS.merchant, merchantRow(M))
    .cdc(CDC_TOPICS.merchant, merchantRow(OTHER))
    .cdc(CDC_TOPICS.financeAccount, bank);
}

/** What every event of a sale order carries: the envelope and the order. */
const saleOrderEvent = (eventId: string) => ({
  eventId,
  occurredAt: T0,
  merchantId: M,
  currency: "VND",
  saleOrderId: "so-1",
  saleOrderCode: "SO-000123",
});

const cogs = (eventId: string, over: Record<string, unknown> = {}) => ({
  ...saleOrderEvent(eventId),
  attemptUid: "att-1",
  costBasis: money("120000"),
  ...over,
});

const attempt = (uid: string, amount: string, source: string | null) => ({
  uid,
  method: "CARD",
  amount: money(amount),
  tendered: null,
  finance: source === null ? null : { source: { id: source } },
});
const payment = (eventId: string, attempts: ReturnType<typeof attempt>[]) => ({
  ...saleOrderEvent(eventId),
  orderTotal: money("100"),
  customer: { id: "cust-1", name: "Nguyễn Thị Lan" },
  attempts,
});

const linesOf = (v: Voucher) => v.lines.map((l) => `${l.side} ${l.accountId} ${l.amount.toFixed(4)}`);

describe("the topology end to end, without a broker (TopologyTestDriver)", () => {
  it("books each event of a batch and dead-letters only the bad one: garbage does not stop the rest", async () => {
    const d = world();
    const out = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [
      cogs("e-1"),
      Buffer.from("not avro at all"),
      cogs("e-3", { saleOrderId: "so-3", costBasis: money("0") }),
      cogs("e-4", { saleOrderId: "so-4" }),
    ]);
    assert.deepEqual(
      out.vouchers.map((v) => v.idempotencyKey),
      ["SALE_COGS:m-1:SALE_ORDER:so-1:att-1", "SALE_COGS:m-1:SALE_ORDER:so-4:att-1"],
    );
    assert.deepEqual(linesOf(out.vouchers[0] as Voucher), [
      `DEBIT ${seededAccountId(M, "COGS")} 120000.0000`,
      `CREDIT ${seededAccountId(M, "INVENTORY")} 120000.0000`,
    ]);
    assert.deepEqual(
      out.skips.map((s) => s.reason),
      ["ZERO_COST_BASIS"],
    );
    assert.deepEqual(
      out.deadLetters.map((l) => [l.reason, l.value?.toString()]),
      [["UNDECODABLE", "not avro at all"]],
    );
  });

  describe("reason precedence (issue 9.3): the worst problem names the dead letter", () => {
    const cases: [string, ReturnType<typeof attempt>[], string][] = [
      [
        "an unknown account and another merchant's cash: CROSS_TENANT, without waiting for the unknown one",
        [attempt("a1", "10", "acct-missing"), attempt("a2", "10", seededAccountId(OTHER, "CASH"))],
        "CROSS_TENANT",
      ],
      [
        "its own revenue account as money and another merchant's cash: CROSS_TENANT",
        [
          attempt("a1", "10", seededAccountId(M, "SALES_REVENUE")),
          attempt("a2", "10", seededAccountId(OTHER, "CASH")),
        ],
        "CROSS_TENANT",
      ],
      [
        "its own revenue account as money and an unknown account: INVALID_PAYLOAD, without waiting",
        [attempt("a1", "10", seededAccountId(M, "SALES_REVENUE")), attempt("a2", "10", "acct-missing")],
        "INVALID_PAYLOAD",
      ],
    ];
    for (const [name, attempts, reason] of cases) {
      it(name, async () => {
        const d = world({ resolveTimeoutMs: 10_000 });
        const started = Date.now();
        const out = await d.pipe(SOURCE_TOPICS.paymentSuccess, [payment("e-1", attempts)]);
        assert.deepEqual(
          out.deadLetters.map((l) => l.reason),
          [reason],
        );
        assert.equal(out.vouchers.length, 0);
        assert.ok(Date.now() - started < 5_000, "a final problem does not wait for missing references");
      });
    }

    it("an unknown account alone waits for CDC, then is UNRESOLVED", async () => {
      const d = world({ resolveTimeoutMs: 300 });
      const started = Date.now();
      const out = await d.pipe(SOURCE_TOPICS.paymentSuccess, [
        payment("e-1", [attempt("a1", "10", "acct-missing")]),
      ]);
      assert.deepEqual(
        out.deadLetters.map((l) => l.reason),
        ["UNRESOLVED"],
      );
      assert.ok(Date.now() - started >= 250, "it waited for the tables to catch up");
    });
  });

  describe("control accounts (issue 9.2): the merchant's seeded ones, whatever CDC says or when", () => {
    const impostor = {
      id: "x-cogs",
      merchant_id: M,
      code: "COGS",
      name: "not the control account",
      type: "MONEY",
      status: "ACTIVE",
    };

    it("books COGS to the same seeded accounts whether a look-alike CDC row came before the merchant or after", async () => {
      const before = new TopologyTestDriver()
        .cdc(CDC_TOPICS.financeAccount, impostor)
        .cdc(CDC_TOPICS.merchant, merchantRow(M));
      const after = new TopologyTestDriver()
        .cdc(CDC_TOPICS.merchant, merchantRow(M))
        .cdc(CDC_TOPICS.financeAccount, impostor);
      const [a, b] = await Promise.all(
        [before, after].map((d) => d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [cogs("e-1")])),
      );
      assert.deepEqual(linesOf(a?.vouchers[0] as Voucher), linesOf(b?.vouchers[0] as Voucher));
      assert.deepEqual(linesOf(a?.vouchers[0] as Voucher), [
        `DEBIT ${seededAccountId(M, "COGS")} 120000.0000`,
        `CREDIT ${seededAccountId(M, "INVENTORY")} 120000.0000`,
      ]);
    });

    it("does not book to a control account its CDC row has archived", async () => {
      const d = world().cdc(CDC_TOPICS.financeAccount, {
        id: seededAccountId(M, "COGS"),
        merchant_id: M,
        code: "COGS",
        name: "Giá vốn",
        type: "CONTROL",
        status: "ARCHIVED",
      });
      const out = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [cogs("e-1")]);
      assert.equal(out.vouchers.length, 0);
      assert.deepEqual(
        out.deadLetters.map((l) => [l.reason, l.message]),
        [["INVALID_PAYLOAD", `control account COGS ${seededAccountId(M, "COGS")} is ARCHIVED, not ACTIVE`]],
      );
    });
  });

  describe("currency (issue 9.5)", () => {
    it("takes the reader's default VND when the writer's schema has no currency", async () => {
      const d = world();
      const schema = loadSchema(valueSubject(SOURCE_TOPICS.inventoryIssuedForSale)) as {
        fields: { name: string }[];
      };
      const older = d.adopt({ ...schema, fields: schema.fields.filter((f) => f.name !== "currency") });
      const { currency: _, ...event } = cogs("e-1");
      const out = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [
        d.encode(SOURCE_TOPICS.inventoryIssuedForSale, event, older),
      ]);
      assert.deepEqual(
        out.vouchers.map((v) => v.currency),
        ["VND"],
      );
    });

    it("dead-letters a currency that is not three capital letters as INVALID_PAYLOAD", async () => {
      const out = await world().pipe(SOURCE_TOPICS.inventoryIssuedForSale, [
        cogs("e-1", { currency: "vnd " }),
      ]);
      assert.deepEqual(
        out.deadLetters.map((l) => l.reason),
        ["INVALID_PAYLOAD"],
      );
    });
  });

  it("makes a re-publication (new eventId, new occurredAt, same facts) the same voucher with the same content hash (issue 9.1)", async () => {
    const d = world();
    const first = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [cogs("e-1")]);
    const again = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [
      cogs("e-9", { occurredAt: T0 + 3_600_000 }),
    ]);
    const [v1, v2] = [first.vouchers[0] as Voucher, again.vouchers[0] as Voucher];
    assert.notEqual(v1.origin.eventId, v2.origin.eventId);
    assert.notEqual(v1.occurredAt, v2.occurredAt);
    assert.equal(v1.voucherId, v2.voucherId);
    assert.equal(contentHash(v1), contentHash(v2));
    // a real difference in the facts is still a different content
    const changed = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [
      cogs("e-10", { costBasis: money("1") }),
    ]);
    assert.notEqual(contentHash(changed.vouchers[0] as Voucher), contentHash(v1));
  });
});
