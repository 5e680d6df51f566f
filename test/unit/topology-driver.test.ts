import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Voucher } from "../../src/domain/voucher.js";
import { seededAccountId } from "../../src/ids.js";
import { money } from "../../src/money.js";
import { loadSchema } from "../../src/schemas.js";
import { contentHash } from "../../src/sinks/content-hash.js";
import { CDC_TOPICS, SOURCE_TOPICS, valueSubject } from "../../src/topics.js";
import { CHUNK_RECORDS } from "../../src/topology/chunks.js";
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
const payment = (
  eventId: string,
  attempts: ReturnType<typeof attempt>[],
  over: Record<string, unknown> = {},
) => ({
  ...saleOrderEvent(eventId),
  orderTotal: money("100"),
  customer: { id: "cust-1", name: "Nguyễn Thị Lan" },
  attempts,
  ...over,
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

  it("a batch of several chunks: every record in order, garbage in a later chunk, waits in two chunks within one timeout", async () => {
    const d = world({ resolveTimeoutMs: 400 });
    const n = 2 * CHUNK_RECORDS + 10;
    const records: (Record<string, unknown> | Buffer)[] = Array.from({ length: n }, (_, i) =>
      cogs(`e-${i}`, { saleOrderId: `so-${i}` }),
    );
    records[CHUNK_RECORDS + 3] = Buffer.from("not avro at all");
    // a merchant not known yet in the first chunk and in the last: both wait, together at most one timeout
    records[5] = cogs("e-first", { merchantId: "m-unknown" });
    records[n - 2] = cogs("e-last", { merchantId: "m-unknown" });
    const started = Date.now();
    const out = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, records);
    const took = Date.now() - started;
    assert.equal(out.vouchers.length, n - 3);
    assert.deepEqual(
      out.vouchers.map((v) => v.source.id),
      records.flatMap((r, i) => (Buffer.isBuffer(r) || i === 5 || i === n - 2 ? [] : [`so-${i}`])),
    );
    assert.deepEqual(
      out.deadLetters.map((l) => l.reason),
      ["UNRESOLVED", "UNDECODABLE", "UNRESOLVED"],
    );
    assert.ok(took >= 350, `the missing references were waited for (${took} ms)`);
    assert.ok(took < 750, `two chunks' waits took ${took} ms: more than one timeout`);
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
        [
          [
            "INVALID_PAYLOAD",
            `control account COGS ${seededAccountId(M, "COGS")} was ARCHIVED at ${new Date(T0).toISOString()}, not ACTIVE`,
          ],
        ],
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

/**
 * SPEC §5 end to end: an event is booked against the reference data as it was when it occurred,
 * whenever it is processed. CDC rows carry their source commit time (`at`), hours around T0.
 */
describe("the topology books as of when the event occurred (SPEC §5 Time, Owners never change)", () => {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  /** The two merchants and M's bank account, committed a day before T0. */
  const timedWorld = () =>
    new TopologyTestDriver()
      .cdc(CDC_TOPICS.merchant, merchantRow(M), { at: T0 - DAY })
      .cdc(CDC_TOPICS.merchant, merchantRow(OTHER), { at: T0 - DAY })
      .cdc(CDC_TOPICS.financeAccount, bank, { at: T0 - DAY });
  /** A card payment of one attempt into `accountId`, for sale order `so`, at `occurredAt`. */
  const pay = (eventId: string, so: string, accountId: string, occurredAt: number, merchantId = M) =>
    payment(eventId, [attempt(`${so}-a`, "10", accountId)], { saleOrderId: so, occurredAt, merchantId });
  const booked = (out: { vouchers: Voucher[] }) => out.vouchers.map((v) => v.idempotencyKey);
  const reasons = (out: { deadLetters: { reason: string }[] }) => out.deadLetters.map((l) => l.reason);

  it("a delete followed by a late event: the late event is UNRESOLVED, an event before the delete books", async () => {
    const d = timedWorld().delete(CDC_TOPICS.financeAccount, bank.id, T0 + HOUR);
    assert.deepEqual(
      d.cdcOutcomes.slice(-2).map((o) => o.kind),
      ["versioned", "ignored"],
      "the delete closes the version; its tombstone is only a marker",
    );
    const out = await d.pipe(SOURCE_TOPICS.paymentSuccess, [
      pay("e-late", "so-late", bank.id, T0 + 2 * HOUR),
      pay("e-early", "so-early", bank.id, T0),
    ]);
    assert.deepEqual(booked(out), ["SALE_RECEIPT:m-1:SALE_ORDER:so-early:so-early-a"]);
    assert.deepEqual(reasons(out), ["UNRESOLVED"]);
  });

  it("an owner move is refused: the first owner's event still books, with no CROSS_TENANT", async () => {
    const d = timedWorld().cdc(
      CDC_TOPICS.financeAccount,
      { ...bank, merchant_id: OTHER },
      { op: "u", at: T0 - HOUR },
    );
    const refused = d.cdcOutcomes.at(-1);
    assert.deepEqual(refused?.kind === "refused" && refused.reason, "OWNER_CHANGED");
    const own = await d.pipe(SOURCE_TOPICS.paymentSuccess, [pay("e-1", "so-1", bank.id, T0)]);
    assert.deepEqual(booked(own), ["SALE_RECEIPT:m-1:SALE_ORDER:so-1:so-1-a"]);
    assert.deepEqual(reasons(own), []);
    assert.deepEqual(linesOf(own.vouchers[0] as Voucher)[0], `DEBIT ${bank.id} 10.0000`);
    const other = await d.pipe(SOURCE_TOPICS.paymentSuccess, [pay("e-2", "so-2", bank.id, T0, OTHER)]);
    assert.deepEqual(booked(other), []);
    assert.deepEqual(reasons(other), ["CROSS_TENANT"]);
  });

  it("a delete and a re-create under another owner: refused; never booked for the other merchant", async () => {
    const d = timedWorld()
      .delete(CDC_TOPICS.financeAccount, bank.id, T0 - 2 * HOUR)
      .cdc(CDC_TOPICS.financeAccount, { ...bank, merchant_id: OTHER }, { at: T0 - HOUR });
    const refused = d.cdcOutcomes.at(-1);
    assert.deepEqual(refused?.kind === "refused" && refused.reason, "OWNER_CHANGED");
    const out = await d.pipe(SOURCE_TOPICS.paymentSuccess, [
      pay("e-other", "so-other", bank.id, T0, OTHER),
      pay("e-before", "so-before", bank.id, T0 - 3 * HOUR),
      pay("e-after", "so-after", bank.id, T0),
    ]);
    assert.deepEqual(booked(out), ["SALE_RECEIPT:m-1:SALE_ORDER:so-before:so-before-a"]);
    assert.deepEqual(reasons(out), ["UNRESOLVED", "UNRESOLVED"]);
  });

  it("a snapshot row (ARCHIVED) newer than the event does not stop it booking; a later event is refused", async () => {
    const archived = { ...bank, id: "bank-2", code: "BANK_2", status: "ARCHIVED" };
    const d = timedWorld().cdc(CDC_TOPICS.financeAccount, archived, { op: "r", at: T0 + DAY });
    const early = await d.pipe(SOURCE_TOPICS.paymentSuccess, [pay("e-1", "so-1", "bank-2", T0)]);
    assert.deepEqual(booked(early), ["SALE_RECEIPT:m-1:SALE_ORDER:so-1:so-1-a"]);
    assert.deepEqual(
      early.vouchers[0]?.lines.map((l) => [l.accountId, l.accountCode]),
      [
        ["bank-2", "BANK_2"],
        [seededAccountId(M, "SALES_REVENUE"), "SALES_REVENUE"],
      ],
    );
    const late = await d.pipe(SOURCE_TOPICS.paymentSuccess, [pay("e-2", "so-2", "bank-2", T0 + 2 * DAY)]);
    assert.deepEqual(reasons(late), ["INVALID_PAYLOAD"]);
  });

  it("a purchase-order event after a vendor rename and a PO re-code that came after it: party name and source code as of the event", async () => {
    const d = timedWorld()
      .cdc(
        CDC_TOPICS.vendor,
        { id: "v-1", merchant_id: M, name: "Công ty Hoa Mai", status: "ACTIVE" },
        { at: T0 - DAY },
      )
      .cdc(
        CDC_TOPICS.purchaseOrder,
        { id: "po-1", merchant_id: M, code: "PO-1", vendor_id: "v-1", status: "OPEN" },
        { at: T0 - DAY },
      )
      .cdc(
        CDC_TOPICS.vendor,
        { id: "v-1", merchant_id: M, name: "Hoa Mai Group", status: "ACTIVE" },
        { op: "u", at: T0 + HOUR },
      )
      .cdc(
        CDC_TOPICS.purchaseOrder,
        { id: "po-1", merchant_id: M, code: "PO-1-R", vendor_id: "v-1", status: "RECEIVED" },
        { op: "u", at: T0 + HOUR },
      );
    const received = (eventId: string, occurredAt: number) => ({
      eventId,
      occurredAt,
      merchantId: M,
      currency: "VND",
      purchaseOrderId: "po-1",
      receivedValue: money("500"),
      payments: [{ uid: "pay-1", accountId: bank.id, amount: money("500") }],
    });
    const [before, after] = [
      await d.pipe(SOURCE_TOPICS.purchaseOrderReceived, [received("e-1", T0)]),
      await d.pipe(SOURCE_TOPICS.purchaseOrderReceived, [received("e-2", T0 + 2 * HOUR)]),
    ];
    const facts = (v: Voucher | undefined) => [v?.party.name?.en, v?.party.name?.vi, v?.source.code];
    assert.deepEqual(facts(before.vouchers[0]), ["Công ty Hoa Mai", "Công ty Hoa Mai", "PO-1"]);
    assert.match(before.vouchers[0]?.reason.en ?? "", /Công ty Hoa Mai/);
    assert.deepEqual(facts(after.vouchers[0]), ["Hoa Mai Group", "Hoa Mai Group", "PO-1-R"]);
  });

  it("a USD event for a VND merchant is dead-lettered INVALID_PAYLOAD and books nothing", async () => {
    const out = await timedWorld().pipe(SOURCE_TOPICS.inventoryIssuedForSale, [
      cogs("e-1", { currency: "USD" }),
    ]);
    assert.deepEqual(reasons(out), ["INVALID_PAYLOAD"]);
    assert.match(out.deadLetters[0]?.message ?? "", /USD.*VND/);
    assert.deepEqual(booked(out), []);
  });

  it("a merchant whose book currency changed: each event is checked against the currency in force at its time", async () => {
    const d = timedWorld().cdc(
      CDC_TOPICS.merchant,
      { ...merchantRow(M), currency: "USD" },
      { op: "u", at: T0 },
    );
    const out = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [
      cogs("e-1", { saleOrderId: "so-vnd-before", occurredAt: T0 - HOUR }),
      cogs("e-2", { saleOrderId: "so-vnd-after", occurredAt: T0 + HOUR }),
      cogs("e-3", { saleOrderId: "so-usd-after", occurredAt: T0 + HOUR, currency: "USD" }),
    ]);
    assert.deepEqual(
      out.vouchers.map((v) => [v.idempotencyKey, v.currency]),
      [
        ["SALE_COGS:m-1:SALE_ORDER:so-vnd-before:att-1", "VND"],
        ["SALE_COGS:m-1:SALE_ORDER:so-usd-after:att-1", "USD"],
      ],
    );
    assert.deepEqual(reasons(out), ["INVALID_PAYLOAD"]);
  });

  it("a merchant deleted after the event leaves it booking; deleted before, the event is UNRESOLVED", async () => {
    const d = timedWorld().delete(CDC_TOPICS.merchant, M, T0);
    const out = await d.pipe(SOURCE_TOPICS.inventoryIssuedForSale, [
      cogs("e-1", { saleOrderId: "so-before", occurredAt: T0 - HOUR }),
      cogs("e-2", { saleOrderId: "so-after", occurredAt: T0 + HOUR }),
    ]);
    assert.deepEqual(booked(out), ["SALE_COGS:m-1:SALE_ORDER:so-before:att-1"]);
    assert.deepEqual(reasons(out), ["UNRESOLVED"]);
  });
});
