import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PurchasePayment } from "../../src/domain/events.js";
import { InvalidPayloadError } from "../../src/errors.js";
import { Money, money } from "../../src/money.js";
import { purchasePaymentRule as rule } from "../../src/rules/purchase-payment.js";
import {
  assertBalancedIndependently,
  BANK,
  CASH,
  EWALLET,
  type ExpectedVoucher,
  M,
  OCCURRED_AT,
  ORIGIN,
  PO,
  payment,
  postEvent,
  purchaseReceived,
  resolve,
  summarize,
  VENDOR,
} from "./fixtures/rules.js";

const KEY = `PURCHASE_PAYMENT:${M}:PURCHASE_ORDER:po-1`;

interface Case {
  name: string;
  receivedValue: string;
  payments: PurchasePayment[];
  expected: ExpectedVoucher;
}

const cases: Case[] = [
  {
    name: "paid = received: CREDIT the money account, DEBIT INVENTORY",
    receivedValue: "100",
    payments: [payment("p1", CASH.id, "100")],
    expected: {
      key: KEY,
      amount: "100.0000",
      lines: ["1 CREDIT CASH 100.0000", "2 DEBIT INVENTORY 100.0000"],
    },
  },
  {
    name: "paid < received: the rest is owed, CREDIT ACCOUNTS_PAYABLE",
    receivedValue: "100",
    payments: [payment("p1", CASH.id, "60")],
    expected: {
      key: KEY,
      amount: "100.0000",
      lines: ["1 CREDIT CASH 60.0000", "2 DEBIT INVENTORY 100.0000", "3 CREDIT ACCOUNTS_PAYABLE 40.0000"],
    },
  },
  {
    name: "paid > received: the excess is prepaid, DEBIT ACCOUNTS_PAYABLE",
    receivedValue: "100",
    payments: [payment("p1", BANK.id, "150")],
    expected: {
      key: KEY,
      amount: "150.0000",
      lines: ["1 CREDIT acc-bank 150.0000", "2 DEBIT INVENTORY 100.0000", "3 DEBIT ACCOUNTS_PAYABLE 50.0000"],
    },
  },
  {
    name: "received = 0: no inventory leg, the whole payment is prepaid",
    receivedValue: "0",
    payments: [payment("p1", CASH.id, "80")],
    expected: {
      key: KEY,
      amount: "80.0000",
      lines: ["1 CREDIT CASH 80.0000", "2 DEBIT ACCOUNTS_PAYABLE 80.0000"],
    },
  },
  {
    name: "several payments, two on the same account: one credit line each, in order",
    receivedValue: "50",
    payments: [payment("p1", CASH.id, "10"), payment("p2", BANK.id, "20"), payment("p3", CASH.id, "30")],
    expected: {
      key: KEY,
      amount: "60.0000",
      lines: [
        "1 CREDIT CASH 10.0000",
        "2 CREDIT acc-bank 20.0000",
        "3 CREDIT CASH 30.0000",
        "4 DEBIT INVENTORY 50.0000",
        "5 DEBIT ACCOUNTS_PAYABLE 10.0000",
      ],
    },
  },
  {
    name: "4 decimal places: 0.0001 short of the received value",
    receivedValue: "0.0003",
    payments: [payment("p1", CASH.id, "0.0001"), payment("p2", EWALLET.id, "0.0001")],
    expected: {
      key: KEY,
      amount: "0.0003",
      lines: [
        "1 CREDIT CASH 0.0001",
        "2 CREDIT MOMO 0.0001",
        "3 DEBIT INVENTORY 0.0003",
        "4 CREDIT ACCOUNTS_PAYABLE 0.0001",
      ],
    },
  },
  {
    name: "very large VND amounts summed across payments stay exact",
    receivedValue: "1999999999999.9998",
    payments: [
      payment("p1", CASH.id, "999999999999.9999"),
      payment("p2", BANK.id, "999999999999.9999"),
      payment("p3", EWALLET.id, "999999999999.9999"),
    ],
    expected: {
      key: KEY,
      amount: "2999999999999.9997",
      lines: [
        "1 CREDIT CASH 999999999999.9999",
        "2 CREDIT acc-bank 999999999999.9999",
        "3 CREDIT MOMO 999999999999.9999",
        "4 DEBIT INVENTORY 1999999999999.9998",
        "5 DEBIT ACCOUNTS_PAYABLE 999999999999.9999",
      ],
    },
  },
];

describe("PURCHASE_PAYMENT posting", () => {
  for (const c of cases) {
    it(c.name, () => {
      const event = purchaseReceived({ receivedValue: money(c.receivedValue), payments: c.payments });
      const result = postEvent(rule, event);
      assert.deepEqual(result.skips, []);
      assert.deepEqual(result.vouchers.map(summarize), [c.expected]);
      for (const v of result.vouchers) assertBalancedIndependently(v);
    });
  }

  it("payments empty: NO_FINANCE_ROUTING for the whole event, even with goods received", () => {
    const event = purchaseReceived({ receivedValue: money("100"), payments: [] });
    assert.deepEqual(rule.needs(event), { accountIds: [], controlCodes: [], purchaseOrderId: null });
    assert.deepEqual(postEvent(rule, event), {
      vouchers: [],
      skips: [{ reason: "NO_FINANCE_ROUTING", eventId: "evt-1", subject: null }],
    });
  });

  it("is a PAYMENT/PURCHASE to the vendor, sourced from the purchase order", () => {
    const [v] = postEvent(rule, purchaseReceived({ currency: "USD" })).vouchers;
    assert.ok(v);
    assert.equal(v.type, "PAYMENT");
    assert.equal(v.kind, "PURCHASE_PAYMENT");
    assert.equal(v.category, "PURCHASE");
    assert.equal(v.merchantId, M);
    assert.equal(v.currency, "USD");
    assert.equal(v.occurredAt, OCCURRED_AT);
    assert.deepEqual(v.origin, ORIGIN);
    assert.deepEqual(v.party, { type: "VENDOR", id: VENDOR.id, name: { en: VENDOR.name, vi: VENDOR.name } });
    assert.deepEqual(v.source, { type: "PURCHASE_ORDER", id: PO.id, code: "PO-1" });
    assert.deepEqual(v.reason, {
      en: "Payment to vendor Công ty Hoa Mai for purchase order PO-1",
      vi: "Chi trả nhà cung cấp Công ty Hoa Mai cho đơn nhập hàng PO-1",
    });
    assert.equal(v.voucherId, "f1066867-f299-5412-ad81-db550a57dc77");
  });

  it("needs: each account once, the purchase order, and only the control accounts it will use", () => {
    const needsOf = (rv: string, ps: PurchasePayment[]) =>
      rule.needs(purchaseReceived({ receivedValue: money(rv), payments: ps }));
    const two = [payment("p1", CASH.id, "10"), payment("p2", CASH.id, "20")];
    assert.deepEqual(needsOf("30", two), {
      accountIds: [CASH.id],
      controlCodes: ["INVENTORY"],
      purchaseOrderId: PO.id,
    });
    assert.deepEqual(needsOf("40", two).controlCodes, ["INVENTORY", "ACCOUNTS_PAYABLE"]);
    assert.deepEqual(needsOf("0", two).controlCodes, ["ACCOUNTS_PAYABLE"]);
  });

  it("a context without the purchase order or vendor is a bug (plain Error), not bad input", () => {
    const event = purchaseReceived();
    const ctx = { ...resolve(rule.needs(event)), vendor: null };
    assert.throws(
      () => rule.post(event, ctx, ORIGIN),
      (e: unknown) => e instanceof Error && !(e instanceof InvalidPayloadError),
    );
  });
});

describe("purchase-order.received validation", () => {
  const withPayment = (p: Partial<PurchasePayment>) =>
    purchaseReceived({ payments: [payment("ok", CASH.id, "1"), { ...payment("p1", CASH.id, "99"), ...p }] });
  const invalid: [string, () => ReturnType<typeof purchaseReceived>][] = [
    ["payment amount zero", () => withPayment({ amount: money("0") })],
    ["payment amount negative", () => withPayment({ amount: money("-5") })],
    ["payment amount with 5 decimal places", () => withPayment({ amount: money("99.00001") })],
    ["payment amount NaN", () => withPayment({ amount: new Money(Number.NaN) })],
    ["payment amount infinite", () => withPayment({ amount: new Money(Number.NEGATIVE_INFINITY) })],
    ["empty payment accountId", () => withPayment({ accountId: "" })],
    ["empty payment uid", () => withPayment({ uid: "" })],
    ["duplicate payment uids", () => withPayment({ uid: "ok" })],
    ["receivedValue negative", () => purchaseReceived({ receivedValue: money("-0.0001") })],
    ["receivedValue with 5 decimal places", () => purchaseReceived({ receivedValue: money("1.00001") })],
    [
      "receivedValue infinite",
      () => purchaseReceived({ receivedValue: new Money(Number.POSITIVE_INFINITY) }),
    ],
    ["empty purchaseOrderId", () => purchaseReceived({ purchaseOrderId: "" })],
    ["empty eventId", () => purchaseReceived({ eventId: "" })],
    ["empty merchantId", () => purchaseReceived({ merchantId: "" })],
    ["empty currency", () => purchaseReceived({ currency: "" })],
    [
      "payments whose total exceeds numeric(19,4)",
      () =>
        purchaseReceived({
          payments: [payment("a", CASH.id, "999999999999999.9999"), payment("b", CASH.id, "0.0001")],
        }),
    ],
  ];
  for (const [name, make] of invalid) {
    it(`rejects the whole event: ${name}`, () => {
      assert.throws(() => rule.validate(make()), InvalidPayloadError);
    });
  }

  it("accepts every event the posting table uses, and payments empty", () => {
    for (const c of cases)
      rule.validate(purchaseReceived({ receivedValue: money(c.receivedValue), payments: c.payments }));
    rule.validate(withPayment({}));
    rule.validate(purchaseReceived({ payments: [] }));
  });
});
