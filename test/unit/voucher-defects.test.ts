import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LedgerLine, Voucher } from "../../src/domain/voucher.js";
import { LAST_INSTANT, voucherDefects } from "../../src/domain/voucher-check.js";
import { money } from "../../src/money.js";
import { ledgerLine } from "../support/vouchers.js";

const line = (lineNo: number, side: LedgerLine["side"], amount: string) =>
  ledgerLine(lineNo, side, amount, "1111");

/** A storable voucher; each case changes one thing about it. */
const storable = (): Voucher => ({
  voucherId: "v",
  idempotencyKey: "k",
  merchantId: "m",
  type: "RECEIPT",
  kind: "SALE_RECEIPT",
  category: "SALE",
  currency: "VND",
  amount: money("100"),
  party: { type: "CUSTOMER", id: "c", name: { en: "Customer", vi: "Khách hàng" } },
  reason: { en: "r", vi: "r" },
  source: { type: "SALE_ORDER", id: "so", code: "SO-1" },
  origin: { eventId: "e", topic: "t", partition: 0, offset: 0 },
  occurredAt: 0,
  lines: [line(1, "DEBIT", "100"), line(2, "CREDIT", "100")],
});

const withAmounts = (amount: string): Partial<Voucher> => ({
  amount: money(amount),
  lines: [line(1, "DEBIT", amount), line(2, "CREDIT", amount)],
});

const MAX = "999999999999999.9999";

describe("voucherDefects: what Postgres would refuse or the books would get wrong, found before writing", () => {
  const cases: Array<[string, (v: Voucher) => Partial<Voucher>, string[]]> = [
    ["a storable voucher", () => ({}), []],
    ["the largest numeric(19,4)", () => withAmounts(MAX), []],
    [
      "the most negative numeric(19,4) on the voucher: storable, so only the balance is wrong",
      () => ({ amount: money(`-${MAX}`) }),
      [`debits 100.0000 != amount -${MAX}`],
    ],
    [
      "one past the largest",
      () => withAmounts("1000000000000000"),
      ["amount exceeds numeric(19,4)", "line 1 exceeds numeric(19,4)", "line 2 exceeds numeric(19,4)"],
    ],
    [
      "one past the most negative",
      () => ({ amount: money("-1000000000000000") }),
      ["amount exceeds numeric(19,4)"],
    ],
    [
      "a fifth decimal place",
      () => withAmounts("0.00001"),
      [
        "amount has more than 4 decimal places",
        "line 1 has more than 4 decimal places",
        "line 2 has more than 4 decimal places",
      ],
    ],
    [
      "an amount that is not finite",
      () => ({ amount: money(Number.POSITIVE_INFINITY) }),
      ["amount is not finite"],
    ],
    [
      "an amount that is not a decimal",
      () => ({ amount: "100" as unknown as Voucher["amount"] }),
      ["amount is not a decimal"],
    ],
    [
      "debits that differ from the amount",
      () => ({ amount: money("99") }),
      ["debits 100.0000 != amount 99.0000"],
    ],
    [
      "a NUL in the idempotency key",
      () => ({ idempotencyKey: "k\u0000" }),
      ["idempotencyKey contains a NUL character"],
    ],
    [
      "a NUL in the party's Vietnamese name",
      (v) => ({ party: { ...v.party, name: { en: "C", vi: "Kh\u0000" } } }),
      ["party.name.vi contains a NUL character"],
    ],
    [
      "a NUL in the source code and the origin topic",
      (v) => ({ source: { ...v.source, code: "\u0000" }, origin: { ...v.origin, topic: "t\u0000" } }),
      ["source.code contains a NUL character", "origin.topic contains a NUL character"],
    ],
    ["a currency that is not text", () => ({ currency: 704 as unknown as string }), ["currency is not text"]],
    [
      "a NUL in a line's account id and code",
      () => ({
        lines: [
          line(1, "DEBIT", "100"),
          { ...line(2, "CREDIT", "100"), accountId: "a\u0000", accountCode: "\u0000" },
        ],
      }),
      ["line 2 accountId contains a NUL character", "line 2 accountCode contains a NUL character"],
    ],
    [
      "no party name and no source code",
      (v) => ({ party: { ...v.party, name: null }, source: { ...v.source, code: null } }),
      [],
    ],
    ["the last instant", () => ({ occurredAt: LAST_INSTANT }), []],
    [
      "a millisecond past the last instant",
      () => ({ occurredAt: LAST_INSTANT + 1 }),
      [`occurredAt ${LAST_INSTANT + 1} is outside 1970-01-01 .. 9999-12-31`],
    ],
    ["before 1970", () => ({ occurredAt: -1 }), ["occurredAt -1 is outside 1970-01-01 .. 9999-12-31"]],
  ];
  for (const [name, change, expected] of cases) {
    it(name, () => {
      const v = storable();
      assert.deepEqual(voucherDefects({ ...v, ...change(v) }), expected);
    });
  }
});

describe("voucherDefects: every text field is looked at", () => {
  const paths = [
    "voucherId",
    "idempotencyKey",
    "merchantId",
    "category",
    "currency",
    "party.id",
    "party.name.en",
    "party.name.vi",
    "reason.en",
    "reason.vi",
    "source.id",
    "source.code",
    "origin.eventId",
    "origin.topic",
    "lines.0.accountId",
    "lines.1.accountCode",
  ];
  /** The defect's name of a field: a line's fields are named by its line number. */
  const named = (path: string) => path.replace(/^lines\.(\d)\./, (_, i) => `line ${Number(i) + 1} `);
  for (const path of paths) {
    for (const [bad, problem] of [
      ["a\u0000b", "contains a NUL character"],
      [42, "is not text"],
    ] as const) {
      it(`${named(path)} ${problem}`, () => {
        const v = structuredClone({ ...storable(), amount: null, lines: [] }) as unknown as Record<
          string,
          unknown
        >;
        const real = storable();
        Object.assign(v, { amount: real.amount, lines: real.lines.map((l) => ({ ...l })) });
        const keys = path.split(".");
        let at = v;
        for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
        at[keys.at(-1) as string] = bad;
        assert.deepEqual(voucherDefects(v as unknown as Voucher), [`${named(path)} ${problem}`]);
      });
    }
  }
});
