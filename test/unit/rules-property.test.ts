import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Origin, PaymentAttempt, PaymentSucceeded } from "../../src/domain/events.js";
import type { PostingResult, Voucher } from "../../src/domain/voucher.js";
import { InvalidPayloadError } from "../../src/errors.js";
import { voucherIdOf } from "../../src/ids.js";
import { formatMoney, Money, sum } from "../../src/money.js";
import { inventoryAdjustmentRule } from "../../src/rules/inventory-adjustment.js";
import { purchasePaymentRule } from "../../src/rules/purchase-payment.js";
import type { PostingRule } from "../../src/rules/rule.js";
import { saleCogsRule } from "../../src/rules/sale-cogs.js";
import { saleReceiptRule } from "../../src/rules/sale-receipt.js";
import {
  assertBalancedIndependently,
  inventoryAdjusted,
  issuedForSale,
  MONEY_ACCOUNTS,
  paymentSucceeded,
  postEvent,
  purchaseReceived,
} from "./fixtures/rules.js";

// Unscaled 4-place values: up to 999999999999.9999 per amount, so sums of a few stay in numeric(19,4).
const MAX_UNSCALED = 10n ** 16n - 1n;
const moneyOf = (min: bigint, max: bigint) =>
  fc.bigInt({ min, max }).map((u) => new Money(u.toString()).div(10_000));
const positive = moneyOf(1n, MAX_UNSCALED);
const nonNegative = fc.oneof(fc.constant(new Money(0)), positive);
const signed = moneyOf(-MAX_UNSCALED, MAX_UNSCALED);
const id = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim().length > 0);
const accountId = fc.constantFrom(...MONEY_ACCOUNTS.map((a) => a.id));
const originArb: fc.Arbitrary<Origin> = fc.record({
  eventId: id,
  topic: fc.constantFrom("payment.success", "purchase-order.received"),
  partition: fc.nat(63),
  offset: fc.nat(),
});

const attemptArb: fc.Arbitrary<PaymentAttempt> = fc
  .record({
    uid: id,
    method: fc.constantFrom("CASH", "CARD", "EWALLET"),
    amount: positive,
    extra: fc.option(nonNegative, { nil: null }),
    financeId: fc.option(accountId, { nil: null }),
  })
  .map(({ extra, financeId, ...a }) => ({
    ...a,
    // SPEC §3: only a cash attempt may carry a tendered amount
    tendered: extra === null || a.method !== "CASH" ? null : a.amount.plus(extra),
    finance: financeId === null ? null : { source: { id: financeId } },
  }));

const saleArb = fc
  .record({
    saleOrderId: id,
    customer: fc.option(fc.record({ id, name: fc.string() }), { nil: null }),
    attempts: fc.uniqueArray(attemptArb, { minLength: 1, maxLength: 6, selector: (a) => a.uid }),
  })
  .map((over) => paymentSucceeded(over));

const purchaseArb = fc
  .record({
    receivedValue: nonNegative,
    payments: fc.uniqueArray(fc.record({ uid: id, accountId, amount: positive }), {
      maxLength: 6,
      selector: (p) => p.uid,
    }),
  })
  .map((over) => purchaseReceived(over));

const cogsArb = fc
  .record({
    saleOrderId: id,
    attemptUid: id,
    saleOrderCode: fc.option(id, { nil: null }),
    costBasis: nonNegative,
  })
  .map((over) => issuedForSale(over));

const adjustmentArb = fc
  .record({
    inventoryTrackingId: id,
    valueDelta: fc.oneof(fc.constant(new Money(0)), signed),
    reason: fc.option(fc.string(), { nil: null }),
  })
  .map((over) => inventoryAdjusted(over));

const identities = (r: PostingResult) => r.vouchers.map((v) => [v.voucherId, v.idempotencyKey]);
const withoutOrigin = (v: Voucher) => ({ ...v, origin: null });
const lineTotal = (vs: Voucher[], code: string, side: "DEBIT" | "CREDIT") =>
  formatMoney(
    sum(
      vs
        .flatMap((v) => v.lines)
        .filter((l) => l.accountCode === code && l.side === side)
        .map((l) => l.amount),
    ),
  );

function checkEveryRule<E extends { eventId: string }>(
  name: string,
  rule: PostingRule<E>,
  arb: fc.Arbitrary<E>,
) {
  describe(`${name}: properties`, () => {
    it("every voucher balances, has lines > 0, and its id is UUID v5 of its key", () => {
      fc.assert(
        fc.property(arb, (event) => {
          const result = postEvent(rule, event);
          for (const v of result.vouchers) {
            assertBalancedIndependently(v);
            assert.equal(v.voucherId, voucherIdOf(v.idempotencyKey));
          }
          const keys = result.vouchers.map((v) => v.idempotencyKey);
          assert.equal(new Set(keys).size, keys.length, "keys are unique within an event");
        }),
      );
    });

    it("the same event, redelivered or re-published with a new eventId, yields the same vouchers", () => {
      fc.assert(
        fc.property(arb, originArb, id, (event, origin, newEventId) => {
          const first = postEvent(rule, event);
          const again = postEvent(rule, { ...event, eventId: newEventId }, origin);
          assert.deepEqual(identities(again), identities(first));
          assert.deepEqual(again.vouchers.map(withoutOrigin), first.vouchers.map(withoutOrigin));
          for (const v of again.vouchers) assert.deepEqual(v.origin, { ...origin });
        }),
      );
    });
  });
}

checkEveryRule("SALE_RECEIPT", saleReceiptRule, saleArb);
checkEveryRule("PURCHASE_PAYMENT", purchasePaymentRule, purchaseArb);
checkEveryRule("SALE_COGS", saleCogsRule, cogsArb);
checkEveryRule("INVENTORY_ADJUSTMENT", inventoryAdjustmentRule, adjustmentArb);

describe("SALE_RECEIPT: accounting properties", () => {
  it("each attempt is booked once or skipped once; revenue = routed amounts; change clears to zero", () => {
    fc.assert(
      fc.property(saleArb, (event: PaymentSucceeded) => {
        const { vouchers, skips } = postEvent(saleReceiptRule, event);
        const routed = event.attempts.filter((a) => a.finance !== null);
        const withChange = routed.filter((a) => a.tendered?.greaterThan(a.amount));
        const exact = routed.filter((a) => a.tendered?.equals(a.amount));
        const receipts = vouchers.filter((v) => v.kind === "SALE_RECEIPT");
        assert.equal(receipts.length, routed.length);
        assert.equal(vouchers.length - receipts.length, withChange.length);
        assert.equal(
          skips.filter((s) => s.reason === "NO_FINANCE_ROUTING").length,
          event.attempts.length - routed.length,
        );
        assert.equal(skips.filter((s) => s.reason === "NO_CHANGE_DUE").length, exact.length);
        assert.equal(
          lineTotal(vouchers, "SALES_REVENUE", "CREDIT"),
          formatMoney(sum(routed.map((a) => a.amount))),
        );
        assert.equal(
          lineTotal(vouchers, "CHANGE_CLEARING", "CREDIT"),
          lineTotal(vouchers, "CHANGE_CLEARING", "DEBIT"),
        );
      }),
    );
  });

  it("one attempt with more than 4 decimal places makes the whole event invalid", () => {
    fc.assert(
      fc.property(saleArb, fc.nat(), (event, pick) => {
        const i = pick % event.attempts.length;
        const attempts = event.attempts.map((a, j) =>
          j === i ? { ...a, amount: a.amount.plus("0.00001"), tendered: null } : a,
        );
        assert.throws(() => saleReceiptRule.validate({ ...event, attempts }), InvalidPayloadError);
      }),
    );
  });
});

describe("PURCHASE_PAYMENT: accounting properties", () => {
  it("credits the money paid, debits the goods received, amount = max(paid, received)", () => {
    fc.assert(
      fc.property(purchaseArb, (event) => {
        const { vouchers, skips } = postEvent(purchasePaymentRule, event);
        if (event.payments.length === 0) {
          assert.deepEqual(vouchers, []);
          assert.deepEqual(
            skips.map((s) => s.reason),
            ["NO_FINANCE_ROUTING"],
          );
          return;
        }
        const [v] = vouchers;
        assert.ok(v && vouchers.length === 1 && skips.length === 0);
        const paid = sum(event.payments.map((p) => p.amount));
        const moneyCredits = v.lines.slice(0, event.payments.length);
        assert.deepEqual(
          moneyCredits.map((l) => [l.accountId, l.side, formatMoney(l.amount)]),
          event.payments.map((p) => [p.accountId, "CREDIT", formatMoney(p.amount)]),
        );
        assert.equal(lineTotal(vouchers, "INVENTORY", "DEBIT"), formatMoney(event.receivedValue));
        assert.equal(formatMoney(v.amount), formatMoney(Money.max(paid, event.receivedValue)));
      }),
    );
  });
});
