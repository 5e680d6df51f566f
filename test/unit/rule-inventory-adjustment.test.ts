import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidPayloadError } from "../../src/errors.js";
import { Money, money } from "../../src/money.js";
import { inventoryAdjustmentRule as rule } from "../../src/rules/inventory-adjustment.js";
import {
  assertBalancedIndependently,
  type ExpectedVoucher,
  inventoryAdjusted,
  M,
  OCCURRED_AT,
  ORIGIN,
  postEvent,
  summarize,
} from "./fixtures/rules.js";

const KEY = `INVENTORY_ADJUSTMENT:${M}:INVENTORY_TRACKING:it-1`;

const cases: [string, string, ExpectedVoucher][] = [
  [
    "positive: DEBIT INVENTORY, CREDIT INVENTORY_ADJUSTMENT",
    "2500",
    {
      key: KEY,
      amount: "2500.0000",
      lines: ["1 DEBIT INVENTORY 2500.0000", "2 CREDIT INVENTORY_ADJUSTMENT 2500.0000"],
    },
  ],
  [
    "negative: DEBIT INVENTORY_ADJUSTMENT, CREDIT INVENTORY, amount |valueDelta|",
    "-2500",
    {
      key: KEY,
      amount: "2500.0000",
      lines: ["1 DEBIT INVENTORY_ADJUSTMENT 2500.0000", "2 CREDIT INVENTORY 2500.0000"],
    },
  ],
  [
    "smallest loss, -0.0001",
    "-0.0001",
    {
      key: KEY,
      amount: "0.0001",
      lines: ["1 DEBIT INVENTORY_ADJUSTMENT 0.0001", "2 CREDIT INVENTORY 0.0001"],
    },
  ],
  [
    "very large VND gain",
    "999999999999999.9999",
    {
      key: KEY,
      amount: "999999999999999.9999",
      lines: ["1 DEBIT INVENTORY 999999999999999.9999", "2 CREDIT INVENTORY_ADJUSTMENT 999999999999999.9999"],
    },
  ],
];

describe("INVENTORY_ADJUSTMENT posting", () => {
  for (const [name, delta, expected] of cases) {
    it(name, () => {
      const result = postEvent(rule, inventoryAdjusted({ valueDelta: money(delta) }));
      assert.deepEqual(result.skips, []);
      assert.deepEqual(result.vouchers.map(summarize), [expected]);
      for (const v of result.vouchers) assertBalancedIndependently(v);
    });
  }

  for (const zero of ["0", "-0", "0.0000"]) {
    it(`valueDelta ${zero}: ZERO_VALUE_DELTA, nothing needed, nothing booked`, () => {
      const event = inventoryAdjusted({ valueDelta: money(zero) });
      assert.deepEqual(rule.needs(event), { accountIds: [], controlCodes: [], purchaseOrderId: null });
      assert.deepEqual(postEvent(rule, event), {
        vouchers: [],
        skips: [{ reason: "ZERO_VALUE_DELTA", eventId: "evt-1", subject: null }],
      });
    });
  }

  it("is an ADJUSTMENT/INVENTORY_ADJUSTMENT with no party, sourced from the tracking id", () => {
    const [v] = postEvent(rule, inventoryAdjusted()).vouchers;
    assert.ok(v);
    assert.deepEqual(
      [v.type, v.kind, v.category, v.merchantId, v.currency, v.occurredAt],
      ["ADJUSTMENT", "INVENTORY_ADJUSTMENT", "INVENTORY_ADJUSTMENT", M, "VND", OCCURRED_AT],
    );
    assert.deepEqual(v.origin, ORIGIN);
    assert.deepEqual(v.party, { type: "NONE", id: null, name: null });
    assert.deepEqual(v.source, { type: "INVENTORY_TRACKING", id: "it-1", code: null });
    assert.deepEqual(rule.needs(inventoryAdjusted()).controlCodes, ["INVENTORY", "INVENTORY_ADJUSTMENT"]);
  });

  const reasons: [string, string | null, { en: string; vi: string }][] = [
    [
      "the operator's reason in both languages",
      "Kiểm kê cuối tháng",
      { en: "Kiểm kê cuối tháng", vi: "Kiểm kê cuối tháng" },
    ],
    [
      "without a reason, the default",
      null,
      { en: "Inventory value adjustment", vi: "Điều chỉnh giá trị tồn kho" },
    ],
    [
      "a blank reason counts as none",
      "   ",
      { en: "Inventory value adjustment", vi: "Điều chỉnh giá trị tồn kho" },
    ],
  ];
  for (const [name, reason, expected] of reasons) {
    it(`reason: ${name}`, () => {
      assert.deepEqual(postEvent(rule, inventoryAdjusted({ reason })).vouchers[0]?.reason, expected);
    });
  }
});

describe("inventory.adjusted validation", () => {
  const invalid: [string, () => ReturnType<typeof inventoryAdjusted>][] = [
    ["valueDelta with 5 decimal places", () => inventoryAdjusted({ valueDelta: money("-0.00001") })],
    ["valueDelta NaN", () => inventoryAdjusted({ valueDelta: new Money(Number.NaN) })],
    ["valueDelta infinite", () => inventoryAdjusted({ valueDelta: new Money(Number.NEGATIVE_INFINITY) })],
    ["valueDelta beyond numeric(19,4)", () => inventoryAdjusted({ valueDelta: money("-1000000000000000") })],
    ["empty inventoryTrackingId", () => inventoryAdjusted({ inventoryTrackingId: "" })],
    ["empty eventId", () => inventoryAdjusted({ eventId: "" })],
    ["empty merchantId", () => inventoryAdjusted({ merchantId: "" })],
    ["empty currency", () => inventoryAdjusted({ currency: "" })],
  ];
  for (const [name, make] of invalid) {
    it(`rejects: ${name}`, () => {
      assert.throws(() => rule.validate(make()), InvalidPayloadError);
    });
  }

  it("accepts signed deltas, zero and a null reason", () => {
    for (const [, delta] of cases) rule.validate(inventoryAdjusted({ valueDelta: money(delta) }));
    rule.validate(inventoryAdjusted({ valueDelta: money("0"), reason: null }));
  });
});
