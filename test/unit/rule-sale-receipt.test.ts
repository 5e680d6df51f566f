import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { v5 as uuidv5 } from "uuid";
import type { PaymentAttempt } from "../../src/domain/events.js";
import type { Skip } from "../../src/domain/voucher.js";
import { InvalidPayloadError } from "../../src/errors.js";
import { Money, money } from "../../src/money.js";
import { saleReceiptRule as rule } from "../../src/rules/sale-receipt.js";
import {
  assertBalancedIndependently,
  attempt,
  BANK,
  CASH,
  card,
  cash,
  EWALLET,
  type ExpectedVoucher,
  M,
  OCCURRED_AT,
  ORIGIN,
  paymentSucceeded,
  postEvent,
  resolve,
  summarize,
} from "./fixtures/rules.js";

const RECEIPT = `SALE_RECEIPT:${M}:SALE_ORDER:so-1`;
const CHANGE = `SALE_CHANGE_RETURN:${M}:SALE_ORDER:so-1`;
const skipOf = (reason: Skip["reason"], subject: string): Skip => ({ reason, eventId: "evt-1", subject });

interface Case {
  name: string;
  attempts: PaymentAttempt[];
  vouchers: ExpectedVoucher[];
  skips: Skip[];
}

const cases: Case[] = [
  {
    name: "card: DEBIT the routed account, CREDIT SALES_REVENUE",
    attempts: [card("att-1", "100000")],
    vouchers: [
      {
        key: `${RECEIPT}:att-1`,
        amount: "100000.0000",
        lines: ["1 DEBIT acc-bank 100000.0000", "2 CREDIT SALES_REVENUE 100000.0000"],
      },
    ],
    skips: [],
  },
  {
    name: "cash with exact tender: one receipt and NO_CHANGE_DUE",
    attempts: [cash("att-1", "50000", "50000")],
    vouchers: [
      {
        key: `${RECEIPT}:att-1`,
        amount: "50000.0000",
        lines: ["1 DEBIT CASH 50000.0000", "2 CREDIT SALES_REVENUE 50000.0000"],
      },
    ],
    skips: [skipOf("NO_CHANGE_DUE", "att-1")],
  },
  {
    name: "cash with change: receipt of the tendered amount, then a change return",
    attempts: [cash("att-1", "85000", "100000")],
    vouchers: [
      {
        key: `${RECEIPT}:att-1`,
        amount: "100000.0000",
        lines: [
          "1 DEBIT CASH 100000.0000",
          "2 CREDIT SALES_REVENUE 85000.0000",
          "3 CREDIT CHANGE_CLEARING 15000.0000",
        ],
      },
      {
        key: `${CHANGE}:att-1`,
        amount: "15000.0000",
        lines: ["1 DEBIT CHANGE_CLEARING 15000.0000", "2 CREDIT CASH 15000.0000"],
      },
    ],
    skips: [],
  },
  {
    name: "split tender, cash with change + card: one receipt per attempt, in attempt order",
    attempts: [cash("cash-1", "30000", "50000"), card("card-1", "70000", EWALLET.id)],
    vouchers: [
      {
        key: `${RECEIPT}:cash-1`,
        amount: "50000.0000",
        lines: [
          "1 DEBIT CASH 50000.0000",
          "2 CREDIT SALES_REVENUE 30000.0000",
          "3 CREDIT CHANGE_CLEARING 20000.0000",
        ],
      },
      {
        key: `${CHANGE}:cash-1`,
        amount: "20000.0000",
        lines: ["1 DEBIT CHANGE_CLEARING 20000.0000", "2 CREDIT CASH 20000.0000"],
      },
      {
        key: `${RECEIPT}:card-1`,
        amount: "70000.0000",
        lines: ["1 DEBIT MOMO 70000.0000", "2 CREDIT SALES_REVENUE 70000.0000"],
      },
    ],
    skips: [],
  },
  {
    name: "finance null: NO_FINANCE_ROUTING, nothing booked",
    attempts: [card("att-1", "100000", null)],
    vouchers: [],
    skips: [skipOf("NO_FINANCE_ROUTING", "att-1")],
  },
  {
    name: "unrouted cash with change is only NO_FINANCE_ROUTING, never a change return",
    attempts: [{ ...cash("att-1", "10", "20"), finance: null }],
    vouchers: [],
    skips: [skipOf("NO_FINANCE_ROUTING", "att-1")],
  },
  {
    name: "split tender with one unrouted attempt: the routed one still books",
    attempts: [card("att-1", "40000", null), card("att-2", "60000"), cash("att-3", "1", "1")],
    vouchers: [
      {
        key: `${RECEIPT}:att-2`,
        amount: "60000.0000",
        lines: ["1 DEBIT acc-bank 60000.0000", "2 CREDIT SALES_REVENUE 60000.0000"],
      },
      {
        key: `${RECEIPT}:att-3`,
        amount: "1.0000",
        lines: ["1 DEBIT CASH 1.0000", "2 CREDIT SALES_REVENUE 1.0000"],
      },
    ],
    skips: [skipOf("NO_FINANCE_ROUTING", "att-1"), skipOf("NO_CHANGE_DUE", "att-3")],
  },
  {
    name: "4 decimal places: 0.0001 paid with 0.0003 tendered",
    attempts: [cash("att-1", "0.0001", "0.0003")],
    vouchers: [
      {
        key: `${RECEIPT}:att-1`,
        amount: "0.0003",
        lines: ["1 DEBIT CASH 0.0003", "2 CREDIT SALES_REVENUE 0.0001", "3 CREDIT CHANGE_CLEARING 0.0002"],
      },
      {
        key: `${CHANGE}:att-1`,
        amount: "0.0002",
        lines: ["1 DEBIT CHANGE_CLEARING 0.0002", "2 CREDIT CASH 0.0002"],
      },
    ],
    skips: [],
  },
  {
    name: "very large VND amounts stay exact",
    attempts: [
      card("att-1", "999999999999.9999"),
      card("att-2", "999999999999.9999", EWALLET.id),
      cash("att-3", "0.0001", "999999999999999.9999"),
    ],
    vouchers: [
      {
        key: `${RECEIPT}:att-1`,
        amount: "999999999999.9999",
        lines: ["1 DEBIT acc-bank 999999999999.9999", "2 CREDIT SALES_REVENUE 999999999999.9999"],
      },
      {
        key: `${RECEIPT}:att-2`,
        amount: "999999999999.9999",
        lines: ["1 DEBIT MOMO 999999999999.9999", "2 CREDIT SALES_REVENUE 999999999999.9999"],
      },
      {
        key: `${RECEIPT}:att-3`,
        amount: "999999999999999.9999",
        lines: [
          "1 DEBIT CASH 999999999999999.9999",
          "2 CREDIT SALES_REVENUE 0.0001",
          "3 CREDIT CHANGE_CLEARING 999999999999999.9998",
        ],
      },
      {
        key: `${CHANGE}:att-3`,
        amount: "999999999999999.9998",
        lines: ["1 DEBIT CHANGE_CLEARING 999999999999999.9998", "2 CREDIT CASH 999999999999999.9998"],
      },
    ],
    skips: [],
  },
];

describe("SALE_RECEIPT / SALE_CHANGE_RETURN posting", () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = postEvent(rule, paymentSucceeded({ attempts: c.attempts }));
      assert.deepEqual(result.vouchers.map(summarize), c.vouchers);
      assert.deepEqual(result.skips, c.skips);
      for (const v of result.vouchers) assertBalancedIndependently(v);
    });
  }

  it("sums exactly across attempts: revenue of two 999999999999.9999 attempts", () => {
    const event = paymentSucceeded({
      orderTotal: money("1999999999999.9998"),
      attempts: [card("a", "999999999999.9999"), card("b", "999999999999.9999", CASH.id)],
    });
    const revenue = postEvent(rule, event)
      .vouchers.flatMap((v) => v.lines)
      .filter((l) => l.accountCode === "SALES_REVENUE")
      .reduce((s, l) => s.plus(l.amount), money(0));
    assert.equal(revenue.toFixed(4), "1999999999999.9998");
  });

  it("receipts are RECEIPT/SALE, change returns PAYMENT/CHANGE_RETURN, with the event's header", () => {
    const event = paymentSucceeded({ currency: "USD", attempts: [cash("att-1", "8", "10")] });
    const [receipt, change] = postEvent(rule, event).vouchers;
    assert.ok(receipt && change);
    for (const [v, type, kind, category] of [
      [receipt, "RECEIPT", "SALE_RECEIPT", "SALE"],
      [change, "PAYMENT", "SALE_CHANGE_RETURN", "CHANGE_RETURN"],
    ] as const) {
      assert.equal(v.type, type);
      assert.equal(v.kind, kind);
      assert.equal(v.category, category);
      assert.equal(v.merchantId, M);
      assert.equal(v.currency, "USD");
      assert.equal(v.occurredAt, OCCURRED_AT);
      assert.deepEqual(v.origin, ORIGIN);
      assert.deepEqual(v.source, { type: "SALE_ORDER", id: "so-1", code: "SO-000123" });
    }
    assert.deepEqual(receipt.reason, {
      en: "Payment received for sale order SO-000123",
      vi: "Thu tiền đơn hàng SO-000123",
    });
    assert.deepEqual(change.reason, {
      en: "Change returned to customer for sale order SO-000123",
      vi: "Trả tiền thừa cho khách, đơn hàng SO-000123",
    });
  });

  it("party: walk-in without a customer, the named customer otherwise", () => {
    const walkIn = postEvent(rule, paymentSucceeded()).vouchers[0];
    assert.deepEqual(walkIn?.party, {
      type: "CUSTOMER",
      id: null,
      name: { en: "Walk-in customer", vi: "Khách lẻ" },
    });
    const named = postEvent(rule, paymentSucceeded({ customer: { id: "c-9", name: "Nguyễn Văn An" } }));
    assert.deepEqual(named.vouchers[0]?.party, {
      type: "CUSTOMER",
      id: "c-9",
      name: { en: "Nguyễn Văn An", vi: "Nguyễn Văn An" },
    });
  });

  it("voucher id is UUID v5 of the idempotency key in the contract namespace", () => {
    const [v] = postEvent(rule, paymentSucceeded()).vouchers;
    assert.equal(v?.idempotencyKey, "SALE_RECEIPT:m-1:SALE_ORDER:so-1:att-1");
    // Computed once outside this code base (Python uuid.uuid5), so a wrong namespace shows.
    assert.equal(v?.voucherId, "9b849103-eb7d-57b9-9098-336209fc237c");
    assert.equal(v?.voucherId, uuidv5(v.idempotencyKey, "9526b67e-4f97-471f-a726-cbe031565fd9"));
  });

  it("a redelivery with a new event id and origin yields the same vouchers but its own origin", () => {
    const first = postEvent(rule, paymentSucceeded({ attempts: [cash("a", "5", "9")] }));
    const againOrigin = { eventId: "evt-9", topic: "payment.success", partition: 1, offset: 99 };
    const again = postEvent(
      rule,
      paymentSucceeded({ eventId: "evt-9", attempts: [cash("a", "5", "9")] }),
      againOrigin,
    );
    assert.deepEqual(
      again.vouchers.map((v) => ({ ...v, origin: ORIGIN })),
      first.vouchers,
    );
    assert.deepEqual(again.vouchers[0]?.origin, againOrigin);
  });

  it("needs: routed accounts once each, SALES_REVENUE, CHANGE_CLEARING only when change is due", () => {
    const needsOf = (attempts: PaymentAttempt[]) => rule.needs(paymentSucceeded({ attempts }));
    assert.deepEqual(needsOf([card("a", "1"), card("b", "2"), cash("c", "3", "3")]), {
      accountIds: [BANK.id, CASH.id],
      controlCodes: ["SALES_REVENUE"],
      purchaseOrderId: null,
    });
    assert.deepEqual(needsOf([card("a", "1", null), cash("c", "3", "4")]), {
      accountIds: [CASH.id],
      controlCodes: ["SALES_REVENUE", "CHANGE_CLEARING"],
      purchaseOrderId: null,
    });
    // Change on an attempt that will be skipped needs no clearing account.
    assert.deepEqual(needsOf([{ ...cash("c", "3", "4"), finance: null }]), {
      accountIds: [],
      controlCodes: [],
      purchaseOrderId: null,
    });
  });

  it("a context missing what needs asked for is a bug (plain Error), not bad input", () => {
    const event = paymentSucceeded();
    const ctx = resolve({ accountIds: [], controlCodes: ["SALES_REVENUE"], purchaseOrderId: null });
    assert.throws(
      () => rule.post(event, ctx, ORIGIN),
      (e: unknown) => e instanceof Error && !(e instanceof InvalidPayloadError),
    );
  });
});

describe("payment.success validation", () => {
  const withAttempt = (a: Partial<PaymentAttempt>) =>
    paymentSucceeded({ attempts: [card("ok", "1"), { ...cash("att-1", "10", null), ...a }] });
  const invalid: [string, () => ReturnType<typeof paymentSucceeded>][] = [
    ["amount with 5 decimal places", () => withAttempt({ amount: money("1.00001") })],
    ["amount NaN", () => withAttempt({ amount: new Money(Number.NaN) })],
    ["amount infinite", () => withAttempt({ amount: new Money(Number.POSITIVE_INFINITY) })],
    ["amount negative", () => withAttempt({ amount: money("-10") })],
    ["amount zero", () => withAttempt({ amount: money("0") })],
    ["amount beyond numeric(19,4)", () => withAttempt({ amount: money("1000000000000000") })],
    ["amount not a decimal", () => withAttempt({ amount: 10 as unknown as Money })],
    ["tendered < amount", () => withAttempt({ tendered: money("9.9999") })],
    ["tendered with 5 decimal places", () => withAttempt({ tendered: money("10.00001") })],
    ["tendered negative", () => withAttempt({ tendered: money("-1") })],
    ["empty attempt uid", () => withAttempt({ uid: "" })],
    ["blank attempt uid", () => withAttempt({ uid: "  " })],
    ["empty finance source id", () => withAttempt({ finance: { source: { id: "" } } })],
    ["duplicate attempt uids", () => withAttempt({ uid: "ok" })],
    ["empty eventId", () => paymentSucceeded({ eventId: "" })],
    ["empty merchantId", () => paymentSucceeded({ merchantId: "" })],
    ["empty saleOrderId", () => paymentSucceeded({ saleOrderId: "" })],
    ["empty currency", () => paymentSucceeded({ currency: "" })],
    ["negative orderTotal", () => paymentSucceeded({ orderTotal: money("-1") })],
    ["orderTotal with 5 decimal places", () => paymentSucceeded({ orderTotal: money("0.00001") })],
    ["customer with empty id", () => paymentSucceeded({ customer: { id: "", name: "A" } })],
    // CONTRACTS "Field limits": codes are identifiers, 1–255 characters.
    ["empty saleOrderCode", () => paymentSucceeded({ saleOrderCode: "" })],
    ["NUL in saleOrderCode", () => paymentSucceeded({ saleOrderCode: "SO\u00001" })],
    ["customer name with NUL", () => paymentSucceeded({ customer: { id: "c", name: "A\u0000" } })],
    ["lowercase currency", () => paymentSucceeded({ currency: "vnd" })],
    ["occurredAt before 1970", () => paymentSucceeded({ occurredAt: -1 })],
    ["no attempts at all", () => paymentSucceeded({ attempts: [] })],
  ];
  for (const [name, make] of invalid) {
    it(`rejects the whole event: ${name}`, () => {
      assert.throws(() => rule.validate(make()), InvalidPayloadError);
    });
  }

  // SPEC §3: `tendered` is for cash only, and the method must be exactly CASH.
  const tenderedOn: [method: string, tendered: string | null, valid: boolean][] = [
    ["CASH", "5", true],
    ["CASH", "7", true],
    ["CASH", null, true],
    ["CARD", null, true],
    ["BANK_TRANSFER", null, true],
    ["cash", null, true],
    ["CARD", "5", false],
    ["CARD", "7", false],
    ["BANK_TRANSFER", "5", false],
    ["EWALLET", "9", false],
    ["cash", "5", false],
    ["Cash", "5", false],
    [" CASH", "5", false],
    ["CASH ", "5", false],
    ["", "5", false],
  ];
  for (const [method, tendered, valid] of tenderedOn) {
    const a = attempt({
      uid: "x",
      method,
      amount: money("5"),
      tendered: tendered === null ? null : money(tendered),
    });
    const event = () => paymentSucceeded({ attempts: [card("ok", "1"), a] });
    it(`${valid ? "accepts" : "rejects"} method ${JSON.stringify(method)} with tendered ${tendered}`, () => {
      if (valid) rule.validate(event());
      else assert.throws(() => rule.validate(event()), /tendered is set on a .* attempt \(cash only\)/);
    });
  }

  it("an invalid tender is an InvalidPayloadError, so the event is dead-lettered rather than booked", () => {
    const cardWithTender = attempt({ uid: "x", amount: money("5"), tendered: money("5") });
    assert.throws(() => rule.validate(paymentSucceeded({ attempts: [cardWithTender] })), InvalidPayloadError);
  });

  it("accepts every event the posting table uses", () => {
    for (const c of cases) rule.validate(paymentSucceeded({ attempts: c.attempts }));
    rule.validate(withAttempt({}));
    rule.validate(paymentSucceeded({ customer: { id: "c", name: "" } }));
  });
});
