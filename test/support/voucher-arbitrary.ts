import fc from "fast-check";
import type { LedgerLine, Voucher } from "../../src/domain/voucher.js";
import { Money } from "../../src/money.js";

// numeric(19,4): any unscaled value of up to 19 digits, most of them beyond 2^53
const MAX_UNSCALED = 10n ** 19n - 1n;
const amount = fc
  .oneof(
    fc.bigInt({ min: -MAX_UNSCALED, max: MAX_UNSCALED }),
    fc.bigInt({ min: -(10n ** 8n), max: 10n ** 8n }),
    fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }).map((n) => n * 10_000n),
    fc.constantFrom(0n, 1n, -1n, MAX_UNSCALED, -MAX_UNSCALED, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 63n) + 1n),
  )
  .filter((n) => n >= -MAX_UNSCALED && n <= MAX_UNSCALED)
  .map((n) => new Money(n.toString()).div(10_000));
// any unicode, with COPY's specials (tab, newline, CR, backslash) and JSON's (quotes) among them
export const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({ unit: fc.constantFrom("\t", "\n", "\r", "\\", '"', "a", "ệ", "😀", "\u00a0"), maxLength: 8 }),
);
const line = (lineNo: number): fc.Arbitrary<LedgerLine> =>
  fc.record({
    lineNo: fc.oneof(fc.constant(lineNo), fc.integer({ min: -1, max: 9 })),
    accountId: text,
    accountCode: fc.option(text, { nil: null }),
    side: fc.constantFrom("DEBIT", "CREDIT"),
    amount,
  });
/** Any voucher the finance.voucher schema carries, balanced or not, valid or not. */
export const voucherArbitrary: fc.Arbitrary<Voucher> = fc.record({
  voucherId: fc.uuid(),
  idempotencyKey: text,
  merchantId: text,
  type: fc.constantFrom("RECEIPT", "PAYMENT", "ADJUSTMENT"),
  kind: fc.constantFrom(
    "SALE_RECEIPT",
    "SALE_CHANGE_RETURN",
    "PURCHASE_PAYMENT",
    "SALE_COGS",
    "INVENTORY_ADJUSTMENT",
  ),
  category: text,
  currency: fc.constantFrom("VND", "USD"),
  amount,
  party: fc.record({
    type: fc.constantFrom("CUSTOMER", "VENDOR", "NONE"),
    id: fc.option(text, { nil: null }),
    name: fc.option(fc.record({ en: text, vi: text }), { nil: null }),
  }),
  reason: fc.record({ en: text, vi: text }),
  source: fc.record({
    type: fc.constantFrom("SALE_ORDER", "PURCHASE_ORDER", "INVENTORY_TRACKING"),
    id: text,
    code: fc.option(text, { nil: null }),
  }),
  origin: fc.record({
    eventId: text,
    topic: text,
    partition: fc.nat(1000),
    offset: fc.nat(),
  }),
  occurredAt: fc.oneof(fc.integer({ min: 0, max: 253402300799999 }), fc.constant(253402300800000)),
  lines: fc
    .integer({ min: 0, max: 4 })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => line(i + 1)))),
}) as fc.Arbitrary<Voucher>;
