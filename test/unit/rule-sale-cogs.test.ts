import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidPayloadError } from "../../src/errors.js";
import { Money, money } from "../../src/money.js";
import { saleCogsRule as rule } from "../../src/rules/sale-cogs.js";
import {
  assertBalancedIndependently,
  issuedForSale,
  M,
  OCCURRED_AT,
  ORIGIN,
  postEvent,
  summarize,
} from "./fixtures/rules.js";

const KEY = `SALE_COGS:${M}:SALE_ORDER:so-1:att-1`;

describe("SALE_COGS posting", () => {
  const positive: [string, string][] = [
    ["a typical cost", "60000"],
    ["the smallest amount, 0.0001", "0.0001"],
    ["a very large VND amount", "999999999999999.9999"],
  ];
  for (const [name, cost] of positive) {
    it(`${name}: DEBIT COGS, CREDIT INVENTORY, amount costBasis`, () => {
      const result = postEvent(rule, issuedForSale({ costBasis: money(cost) }));
      const amount = money(cost).toFixed(4);
      assert.deepEqual(result.skips, []);
      assert.deepEqual(result.vouchers.map(summarize), [
        { key: KEY, amount, lines: [`1 DEBIT COGS ${amount}`, `2 CREDIT INVENTORY ${amount}`] },
      ]);
      for (const v of result.vouchers) assertBalancedIndependently(v);
    });
  }

  it("costBasis 0: ZERO_COST_BASIS, nothing needed, nothing booked", () => {
    const event = issuedForSale({ costBasis: money("0") });
    assert.deepEqual(rule.needs(event), { accountIds: [], controlCodes: [], purchaseOrderId: null });
    assert.deepEqual(postEvent(rule, event), {
      vouchers: [],
      skips: [{ reason: "ZERO_COST_BASIS", eventId: "evt-1", subject: null }],
    });
  });

  it("is an ADJUSTMENT/COGS with no party, sourced from the sale order", () => {
    const [v] = postEvent(rule, issuedForSale()).vouchers;
    assert.ok(v);
    assert.deepEqual(
      [v.type, v.kind, v.category, v.merchantId, v.currency, v.occurredAt],
      ["ADJUSTMENT", "SALE_COGS", "COGS", M, "VND", OCCURRED_AT],
    );
    assert.deepEqual(v.origin, ORIGIN);
    assert.deepEqual(v.party, { type: "NONE", id: null, name: null });
    assert.deepEqual(v.source, { type: "SALE_ORDER", id: "so-1", code: "SO-000123" });
    assert.deepEqual(v.reason, {
      en: "Cost of goods sold for sale order SO-000123",
      vi: "Giá vốn hàng bán đơn hàng SO-000123",
    });
    assert.deepEqual(rule.needs(issuedForSale()).controlCodes, ["COGS", "INVENTORY"]);
  });

  it("without an order code the reason names the order id and the source code is null", () => {
    const [v] = postEvent(rule, issuedForSale({ saleOrderCode: null })).vouchers;
    assert.deepEqual(v?.source, { type: "SALE_ORDER", id: "so-1", code: null });
    assert.deepEqual(v?.reason, {
      en: "Cost of goods sold for sale order so-1",
      vi: "Giá vốn hàng bán đơn hàng so-1",
    });
  });
});

describe("inventory.issued-for-sale validation", () => {
  const invalid: [string, () => ReturnType<typeof issuedForSale>][] = [
    ["costBasis negative", () => issuedForSale({ costBasis: money("-1") })],
    ["costBasis with 5 decimal places", () => issuedForSale({ costBasis: money("0.00001") })],
    ["costBasis NaN", () => issuedForSale({ costBasis: new Money(Number.NaN) })],
    ["costBasis infinite", () => issuedForSale({ costBasis: new Money(Number.POSITIVE_INFINITY) })],
    ["empty attemptUid", () => issuedForSale({ attemptUid: "" })],
    ["empty saleOrderId", () => issuedForSale({ saleOrderId: "" })],
    ["empty eventId", () => issuedForSale({ eventId: "" })],
    ["empty merchantId", () => issuedForSale({ merchantId: "" })],
    ["empty currency", () => issuedForSale({ currency: "" })],
  ];
  for (const [name, make] of invalid) {
    it(`rejects: ${name}`, () => {
      assert.throws(() => rule.validate(make()), InvalidPayloadError);
    });
  }

  it("accepts zero, a null code and the 4-place extremes", () => {
    for (const cost of ["0", "0.0001", "999999999999999.9999"])
      rule.validate(issuedForSale({ costBasis: money(cost) }));
    rule.validate(issuedForSale({ saleOrderCode: null }));
  });
});
