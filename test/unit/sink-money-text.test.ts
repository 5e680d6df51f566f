import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AvroCodec } from "../../src/avro/codec.js";
import { moneyText } from "../../src/avro/decimal-type.js";
import type { LedgerLine, Voucher } from "../../src/domain/voucher.js";
import { voucherDefects } from "../../src/domain/voucher-check.js";
import { formatMoney, Money, money } from "../../src/money.js";
import { loadSchema } from "../../src/schemas.js";
import { bookableVoucher } from "../../src/sinks/bookable-voucher.js";
import { contentHash } from "../../src/sinks/content-hash.js";
import { type VoucherJson, voucherJson, voucherJsonDefects } from "../../src/sinks/voucher-json.js";
import { VOUCHER_TOPIC, valueSubject } from "../../src/topics.js";
import { voucherArbitrary as voucherArb } from "../support/voucher-arbitrary.js";
import { sampleVoucher } from "../support/vouchers.js";

const VOUCHER_ID = 7;
const codec = new AvroCodec({ url: "http://127.0.0.1:9" });
codec.adopt(VOUCHER_ID, loadSchema(valueSubject(VOUCHER_TOPIC)));

/**
 * The sink before amounts were carried as text: decimal.js amounts formatted for each column
 * (the columns then called formatMoney), and hashed from decimals.
 */
const asBefore = (v: Voucher): VoucherJson => ({
  ...v,
  amount: formatMoney(v.amount),
  lines: v.lines.map((l) => ({ ...l, amount: formatMoney(l.amount) })),
});

/** The voucher's rows as the sink COPYs them. */
const copyText = (v: VoucherJson) => {
  const b = bookableVoucher(v);
  return Buffer.concat([b.row, b.lineRows]);
};

/** A voucher that balances: its last line takes the difference (when that stays in numeric(19,4)). */
const balanced = voucherArb
  .map((v) => {
    const lines = v.lines.map((l, i) => ({ ...l, lineNo: i + 1, amount: l.amount.abs() }));
    if (lines.length < 2) return null;
    const signed = (l: LedgerLine) => (l.side === "DEBIT" ? l.amount : l.amount.negated());
    const rest = lines.slice(0, -1).reduce((s, l) => s.plus(signed(l)), new Money(0));
    const last = lines.at(-1) as LedgerLine;
    last.side = rest.isNegative() ? "DEBIT" : "CREDIT";
    last.amount = rest.abs();
    const debits = lines.filter((l) => l.side === "DEBIT").reduce((s, l) => s.plus(l.amount), new Money(0));
    // (sums past numeric(19,4) are no voucher Avro carries)
    const limit = money("1e15");
    return last.amount.lessThan(limit) && debits.lessThan(limit) ? { ...v, amount: debits, lines } : null;
  })
  .filter((v): v is Voucher => v !== null);

describe("the sink's vouchers with amounts as text (decodeMoneyText)", () => {
  it("give byte-identical COPY text, content hashes and defects to decimal.js vouchers", () => {
    fc.assert(
      fc.property(fc.oneof(voucherArb, balanced), (v) => {
        const wire = codec.encode(VOUCHER_ID, v);
        const before = codec.decode<Voucher>(wire);
        const now = codec.decodeMoneyText<VoucherJson>(wire);
        // (avsc's records are instances of its classes: compared as data)
        assert.equal(JSON.stringify(now), JSON.stringify(asBefore(before)));
        assert.ok(copyText(now).equals(copyText(asBefore(before))));
        assert.equal(contentHash(now), contentHash(before));
        assert.deepEqual(voucherJsonDefects(now), voucherDefects(before));
      }),
      { numRuns: 3000 },
    );
  });

  it("find balanced vouchers balanced, as decimal.js does", () => {
    fc.assert(
      fc.property(balanced, (v) => {
        const now = codec.decodeMoneyText<VoucherJson>(codec.encode(VOUCHER_ID, v));
        const defects = voucherJsonDefects(now);
        assert.deepEqual(defects, voucherDefects(v));
        assert.deepEqual(
          defects.filter((d) => d.startsWith("debits")),
          [],
        );
      }),
      { numRuns: 500 },
    );
  });

  it("find what voucherDefects finds in amounts Avro would not carry, in the same words", () => {
    const v = sampleVoucher("defects");
    const withAmounts = (a: string): Voucher => ({
      ...v,
      amount: money(a),
      lines: v.lines.map((l) => ({ ...l, amount: money(a) })),
    });
    const cases: Voucher[] = [
      withAmounts("0.00001"),
      withAmounts("1000000000000000"),
      withAmounts("-1000000000000000"),
      withAmounts("999999999999999.9999"),
      { ...v, amount: money(Number.POSITIVE_INFINITY) },
      { ...v, amount: money(Number.NaN) },
      { ...v, amount: 100 as unknown as Money },
      { ...v, amount: money("99") },
      { ...v, amount: money("-0") },
    ];
    for (const c of cases) assert.deepEqual(voucherJsonDefects(voucherJson(c)), voucherDefects(c));
    // Text the decoder never writes is refused rather than booked as something else.
    assert.deepEqual(voucherJsonDefects({ ...voucherJson(v), amount: "100.25" }), [
      "amount is not a decimal in 4-place text",
    ]);
    assert.deepEqual(voucherJsonDefects({ ...voucherJson(v), amount: "abc" }), ["amount is not a decimal"]);
  });
});

describe("moneyText: a decimal's unscaled integer as money's text", () => {
  it("writes 4 places, from a writer of any scale, and keeps places beyond 4 that are not zeros", () => {
    assert.equal(moneyText("12345", 4), "1.2345");
    assert.equal(moneyText("-5", 4), "-0.0005");
    assert.equal(moneyText("0", 4), "0.0000");
    assert.equal(moneyText("-12345678901234567890", 4), "-1234567890123456.7890");
    assert.equal(moneyText("150", 2), "1.5000");
    assert.equal(moneyText("-7", 0), "-7.0000");
    assert.equal(moneyText("0", 0), "0.0000");
    assert.equal(moneyText("1500000", 6), "1.5000");
    assert.equal(moneyText("-1500000", 6), "-1.5000");
    assert.equal(moneyText("1500001", 6), "1.500001");
    assert.equal(moneyText("0", 6), "0.0000");
  });

  it("reads the decimals of a writer whose scale is not 4 exactly", () => {
    const c = new AvroCodec({ url: "http://127.0.0.1:9" });
    const note = (scale: number) => ({
      type: "record",
      name: "Note",
      fields: [{ name: "amount", type: { type: "bytes", logicalType: "decimal", precision: 30, scale } }],
    });
    for (const [scale, value, expected] of [
      [2, "-12.5", "-12.5000"],
      [6, "3.000001", "3.000001"],
      [6, "123456789012345678.25", "123456789012345678.2500"],
    ] as const) {
      c.adopt(100 + scale, note(scale));
      const wire = c.encode(100 + scale, { amount: money(value) });
      assert.equal(c.decodeMoneyText<{ amount: string }>(wire).amount, expected);
      assert.equal(c.decode<{ amount: Money }>(wire).amount.toString(), money(value).toString());
    }
  });
});
