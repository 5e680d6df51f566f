import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  balanceProblemsOf,
  balancesInSafeIntegers,
  DECIMALS,
  type LedgerLine,
  type Side,
} from "../../src/domain/voucher.js";
import { MONEY_MAX_ABS, MONEY_SCALE, Money, moneyDefect, scaledSafeInteger } from "../../src/money.js";

/**
 * The hot paths settle money in safe integers of ten-thousandths and fall back to decimal.js
 * for anything else: they must never disagree with decimal.js, at any size or scale.
 */
const decimals = fc.oneof(
  fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).chain((unscaled) =>
    fc.integer({ min: 0, max: 8 }).map((places) => {
      const s = unscaled
        .toString()
        .replace("-", "")
        .padStart(places + 1, "0");
      const sign = unscaled < 0n ? "-" : "";
      return new Money(places === 0 ? `${sign}${s}` : `${sign}${s.slice(0, -places)}.${s.slice(-places)}`);
    }),
  ),
  fc
    .constantFrom(
      "0",
      "-0",
      "1e15",
      "999999999999999.9999",
      "900719925474.0991",
      "900719925474.0992",
      "1e-4",
      "1e-5",
      "Infinity",
      "NaN",
    )
    .map((t) => new Money(t)),
  fc.integer({ min: 1, max: 10 ** 9 }).map((n) => new Money(n).times(10_000)),
);

/** moneyDefect's verdict as decimal.js alone gives it. */
function slowDefect(value: Money): string | null {
  if (!value.isFinite()) return "is not finite";
  if (value.decimalPlaces() > MONEY_SCALE) return `has more than ${MONEY_SCALE} decimal places`;
  if (value.abs().greaterThan(MONEY_MAX_ABS)) return "exceeds numeric(19,4)";
  return null;
}

describe("money in safe integers of ten-thousandths", () => {
  it("scaledSafeInteger is value × 10^4 exactly, or null when that is no safe integer", () => {
    fc.assert(
      fc.property(decimals, (d) => {
        const scaled = scaledSafeInteger(d, MONEY_SCALE);
        const exact = d.isFinite() ? d.times(10_000) : null;
        const safe = exact?.isInteger() && exact.abs().lessThanOrEqualTo(Number.MAX_SAFE_INTEGER);
        if (scaled === null) assert.ok(!safe, `${d} × 10^4 is a safe integer, yet left to decimal.js`);
        else assert.ok(exact?.equals(scaled), `${d} × 10^4 is not ${scaled}`);
      }),
      { numRuns: 5_000 },
    );
  });

  it("moneyDefect gives decimal.js' verdict", () => {
    fc.assert(
      fc.property(decimals, (d) => assert.equal(moneyDefect(d), slowDefect(d))),
      { numRuns: 5_000 },
    );
  });

  it("a voucher settled in safe integers balances in decimal.js too, and one it leaves does not always", () => {
    const line = fc.record({
      side: fc.constantFrom<Side>("DEBIT", "CREDIT"),
      amount: decimals,
    });
    const parts = fc.record({
      amount: decimals,
      lines: fc.array(line, { maxLength: 5 }),
      renumber: fc.boolean(),
    });
    let settled = 0;
    fc.assert(
      fc.property(parts, ({ amount, lines, renumber }) => {
        const ledger: LedgerLine[] = lines.map((l, i) => ({
          lineNo: renumber ? lines.length - i : i + 1,
          accountId: "a",
          accountCode: null,
          side: l.side,
          amount: l.amount,
        }));
        const v = { amount, lines: ledger };
        if (balancesInSafeIntegers(v)) {
          settled++;
          assert.deepEqual(balanceProblemsOf(v, DECIMALS), []);
        }
      }),
      { numRuns: 5_000 },
    );
    // balanced vouchers built on purpose: settled in safe integers, and balanced in decimal.js
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 ** 12 }), { minLength: 1, maxLength: 4 }),
        (cents) => {
          const debit = cents.map((c) => new Money(c).dividedBy(10_000));
          const total = debit.reduce((a, b) => a.plus(b), new Money(0));
          const ledger: LedgerLine[] = [
            ...debit.map((a) => ["DEBIT", a] as const),
            ["CREDIT", total] as const,
          ].map(([side, a], i) => ({ lineNo: i + 1, accountId: "a", accountCode: null, side, amount: a }));
          const v = { amount: total, lines: ledger };
          assert.equal(balancesInSafeIntegers(v), balanceProblemsOf(v, DECIMALS).length === 0);
          if (balancesInSafeIntegers(v)) settled++;
        },
      ),
      { numRuns: 2_000 },
    );
    assert.ok(settled > 1_000, `only ${settled} vouchers took the safe-integer path`);
  });
});
