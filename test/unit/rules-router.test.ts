import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ALL_RULES, ruleFor } from "../../src/rules/index.js";
import { inventoryAdjustmentRule } from "../../src/rules/inventory-adjustment.js";
import { purchasePaymentRule } from "../../src/rules/purchase-payment.js";
import { saleCogsRule } from "../../src/rules/sale-cogs.js";
import { saleReceiptRule } from "../../src/rules/sale-receipt.js";
import { ALL_SOURCE_TOPICS } from "../../src/topics.js";

describe("ruleFor", () => {
  const routes = [
    ["payment.success", saleReceiptRule],
    ["purchase-order.received", purchasePaymentRule],
    ["inventory.issued-for-sale", saleCogsRule],
    ["inventory.adjusted", inventoryAdjustmentRule],
  ] as const;
  for (const [topic, rule] of routes) {
    it(`routes ${topic} to the rule that declares it`, () => {
      assert.equal(ruleFor(topic), rule);
      assert.equal(ruleFor(topic).topic, topic);
    });
  }

  it("has exactly one rule per source topic", () => {
    assert.deepEqual(ALL_RULES.map((r) => r.topic).sort(), [...ALL_SOURCE_TOPICS].sort());
  });

  it("refuses a topic without a rule, including inherited property names", () => {
    for (const topic of ["finance.voucher", "nx.seller.public.merchant", "toString", ""]) {
      assert.throws(() => ruleFor(topic), /no posting rule/);
    }
  });
});
