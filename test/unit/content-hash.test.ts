import assert from "node:assert/strict";
import { hash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { LedgerLine, Voucher } from "../../src/domain/voucher.js";
import { money } from "../../src/money.js";
import { contentHash, HASH_PREFIX, isLegacyHash } from "../../src/sinks/content-hash.js";
import { type VoucherJson, voucherJson } from "../../src/sinks/voucher-json.js";
import { voucherArbitrary } from "../support/voucher-arbitrary.js";
import { sampleVoucher } from "../support/vouchers.js";

const base = sampleVoucher("so-1");

describe("contentHash", () => {
  it("is a stable sha256: a layout change would turn every stored voucher's replay into a conflict", () => {
    assert.match(contentHash(base), /^c2:[0-9a-f]{64}$/);
    assert.equal(contentHash(base), contentHash(sampleVoucher("so-1")));
    const known: Voucher = {
      voucherId: "7f0c8f4e-5d4b-5b1a-9c3e-2f6a1d0e9b8c",
      idempotencyKey: "SALE_COGS:m:SALE_ORDER:so:a",
      merchantId: "m",
      type: "ADJUSTMENT",
      kind: "SALE_COGS",
      category: "COGS",
      currency: "VND",
      amount: money("12.5"),
      party: { type: "NONE", id: null, name: null },
      reason: { en: "Cost of goods", vi: "Giá vốn" },
      source: { type: "SALE_ORDER", id: "so", code: null },
      origin: { eventId: "e", topic: "inventory.issued-for-sale", partition: 0, offset: 0 },
      occurredAt: 1_700_000_000_000,
      lines: [
        { lineNo: 1, accountId: "cogs", accountCode: "COGS", side: "DEBIT", amount: money("12.5") },
        { lineNo: 2, accountId: "inv", accountCode: null, side: "CREDIT", amount: money("12.5") },
      ],
    };
    // sha256 of the canonical text, computed independently of this code
    assert.equal(contentHash(known), "c2:af8c216edfd945b985d1a3b951444f4ffb50f55ce9c66ab7e08e7e41c4a64606");
  });

  it("ignores the origin, so a re-published event is a replay", () => {
    const republished = {
      ...base,
      origin: { eventId: "evt-other", topic: "payment.success", partition: 9, offset: 7 },
    };
    assert.equal(contentHash(republished), contentHash(base));
  });

  it("ignores occurredAt: an upstream re-publication usually carries a new one and is still the same fact", () => {
    const republished: Voucher = { ...base, occurredAt: base.occurredAt + 86_400_000 };
    assert.equal(contentHash(republished), contentHash(base));
  });

  it("hashes the same content read back from Postgres as JSON (amounts as numeric text) alike", () => {
    const json = {
      ...base,
      amount: base.amount.toFixed(4),
      lines: base.lines.map((l) => ({ ...l, amount: l.amount.toFixed(4) })),
    };
    assert.equal(contentHash(json), contentHash(base));
  });

  it("tells a legacy stored hash (no layout prefix) from a current one", () => {
    assert.equal(isLegacyHash("731c4fbfe567ae4e87f9f3be5c82d66702d1ab09f5b42dd3dc24bcd51b939883"), true);
    assert.equal(isLegacyHash(contentHash(base)), false);
  });

  it("hashes money by value at 4 places: 1 and 1.0000 are the same amount", () => {
    const a = sampleVoucher("x", { revenue: "1", change: "2" });
    const b = sampleVoucher("x", { revenue: "1.0000", change: "2.00" });
    assert.equal(contentHash(a), contentHash(b));
  });

  it("does not depend on the order lines arrive in, only on their line numbers", () => {
    assert.equal(contentHash({ ...base, lines: [...base.lines].reverse() }), contentHash(base));
  });

  const withLine = (v: Voucher, index: number, patch: Partial<LedgerLine>): Voucher => ({
    ...v,
    lines: v.lines.map((l, i) => (i === index ? { ...l, ...patch } : l)),
  });
  const name = { en: "Nguyen Van A", vi: "Nguyễn Văn A" };
  const changes: [string, (v: Voucher) => Voucher][] = [
    ["voucherId", (v) => ({ ...v, voucherId: "00000000-0000-4000-8000-000000000000" })],
    ["idempotencyKey", (v) => ({ ...v, idempotencyKey: `${v.idempotencyKey}x` })],
    ["merchantId", (v) => ({ ...v, merchantId: "m-2" })],
    ["type", (v) => ({ ...v, type: "PAYMENT" })],
    ["kind", (v) => ({ ...v, kind: "SALE_CHANGE_RETURN" })],
    ["category", (v) => ({ ...v, category: "OTHER" })],
    ["currency", (v) => ({ ...v, currency: "USD" })],
    ["amount", (v) => ({ ...v, amount: v.amount.plus("0.0001") })],
    ["party type", (v) => ({ ...v, party: { ...v.party, type: "VENDOR" } })],
    ["party id", (v) => ({ ...v, party: { ...v.party, id: null } })],
    ["party name en", (v) => ({ ...v, party: { ...v.party, name: { ...name, en: "Other" } } })],
    ["party name vi", (v) => ({ ...v, party: { ...v.party, name: { ...name, vi: "Nguyen Van A" } } })],
    ["party name (absent)", (v) => ({ ...v, party: { ...v.party, name: null } })],
    ["reason en", (v) => ({ ...v, reason: { ...v.reason, en: `${v.reason.en} ` } })],
    ["reason vi", (v) => ({ ...v, reason: { ...v.reason, vi: v.reason.vi.normalize("NFD") } })],
    ["source type", (v) => ({ ...v, source: { ...v.source, type: "PURCHASE_ORDER" } })],
    ["source id", (v) => ({ ...v, source: { ...v.source, id: "so-2" } })],
    ["source code", (v) => ({ ...v, source: { ...v.source, code: null } })],
    ["line account", (v) => withLine(v, 1, { accountId: "other" })],
    ["line account code", (v) => withLine(v, 1, { accountCode: null })],
    ["line side", (v) => withLine(v, 2, { side: "DEBIT" })],
    ["line amount", (v) => withLine(v, 2, { amount: money("0.2501") })],
    ["line numbers", (v) => ({ ...v, lines: v.lines.map((l) => ({ ...l, lineNo: l.lineNo + 1 })) })],
    ["line count", (v) => ({ ...v, lines: v.lines.slice(0, 2) })],
  ];
  for (const [field, change] of changes) {
    it(`changes when the ${field} changes`, () => {
      assert.notEqual(contentHash(change(sampleVoucher("so-1"))), contentHash(base));
    });
  }

  it("keeps field boundaries: moving text between adjacent fields changes the hash", () => {
    const a = { ...base, reason: { en: "ab", vi: "c" } };
    const b = { ...base, reason: { en: "a", vi: "bc" } };
    assert.notEqual(contentHash(a), contentHash(b));
  });
});

/**
 * The c2 layout as first written, with JSON.stringify: the stored hashes of every voucher
 * booked so far are of this text, so the writer must keep to it byte for byte.
 */
const c2Layout = (v: VoucherJson) =>
  JSON.stringify([
    v.voucherId,
    v.idempotencyKey,
    v.merchantId,
    v.type,
    v.kind,
    v.category,
    v.currency,
    v.amount,
    [v.party.type, v.party.id, v.party.name && [v.party.name.en, v.party.name.vi]],
    [v.reason.en, v.reason.vi],
    [v.source.type, v.source.id, v.source.code],
    [...v.lines]
      .sort((a, b) => a.lineNo - b.lineNo)
      .map((l) => [l.lineNo, l.accountId, l.accountCode, l.side, l.amount]),
  ]);

/** The hash of the c2 layout's text, computed the plain way. */
const c2Hash = (v: VoucherJson) => HASH_PREFIX + hash("sha256", c2Layout(v), "hex");

describe("the canonical content contentHash hashes", () => {
  it("is the c2 layout's JSON.stringify text for any voucher, any text (the hashes already stored are of it)", () => {
    fc.assert(
      fc.property(voucherArbitrary, fc.boolean(), (voucher, noName) => {
        const v = voucherJson(voucher);
        if (noName) v.party = { ...v.party, name: undefined as unknown as null };
        assert.equal(contentHash(v), c2Hash(v));
      }),
      { numRuns: 3000 },
    );
  });

  it("is written whole for a voucher larger than its scratch space, and the next one is not disturbed", () => {
    const large = voucherJson({ ...base, reason: { en: "r".repeat(50_000), vi: "ệ".repeat(30_000) } });
    assert.equal(contentHash(large), c2Hash(large));
    assert.equal(contentHash(voucherJson(base)), c2Hash(voucherJson(base)));
  });

  it("is the same for a voucher's amounts as decimals and as the sink's text, for any text (controls, quotes, lone surrogates)", () => {
    const weird = fc.string({
      unit: fc.constantFrom(
        "\u0000",
        "\u001f",
        "\u007f",
        "\ud800",
        "\udfff",
        '"',
        "\\",
        "/",
        "a",
        "ệ",
        "😀",
        "\u2028",
      ),
      maxLength: 10,
    });
    const vouchers = fc.tuple(voucherArbitrary, weird, fc.boolean()).map(
      ([v, w, noName]): Voucher => ({
        ...v,
        reason: { en: w, vi: v.reason.vi },
        party: noName ? { ...v.party, name: undefined as unknown as null } : v.party,
        lines: v.lines.map((l) => ({ ...l, accountId: w + l.accountId })),
      }),
    );
    fc.assert(
      fc.property(vouchers, (v) => {
        assert.equal(contentHash(voucherJson(v)), contentHash(v));
        const reversed = { ...v, lines: [...v.lines].reverse() };
        if (new Set(v.lines.map((l) => l.lineNo)).size === v.lines.length)
          assert.equal(contentHash(reversed), contentHash(v), "lines in any order");
      }),
      { numRuns: 3000 },
    );
  });
});
