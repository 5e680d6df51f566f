import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { balanceProblems, type LedgerLine, NO_PARTY, type Voucher } from "../../src/domain/voucher.js";
import { money } from "../../src/money.js";
import { ledgerLine } from "../support/vouchers.js";

const voucher = (amount: string, lines: LedgerLine[]): Voucher => ({
  voucherId: "v",
  idempotencyKey: "k",
  merchantId: "m",
  type: "RECEIPT",
  kind: "SALE_RECEIPT",
  category: "SALE",
  currency: "VND",
  amount: money(amount),
  party: NO_PARTY,
  reason: { en: "r", vi: "r" },
  source: { type: "SALE_ORDER", id: "so", code: null },
  origin: { eventId: "e", topic: "t", partition: 0, offset: 0 },
  occurredAt: 0,
  lines,
});

describe("SPEC §3: a voucher balances", () => {
  const cases: Array<[string, Voucher, string[]]> = [
    [
      "two lines, debits = credits = amount",
      voucher("100", [ledgerLine(1, "DEBIT", "100"), ledgerLine(2, "CREDIT", "100")]),
      [],
    ],
    [
      "split credits summing exactly, to the last đồng fraction",
      voucher("0.0003", [
        ledgerLine(1, "DEBIT", "0.0003"),
        ledgerLine(2, "CREDIT", "0.0001"),
        ledgerLine(3, "CREDIT", "0.0002"),
      ]),
      [],
    ],
    [
      "one line",
      voucher("100", [ledgerLine(1, "DEBIT", "100")]),
      ["fewer than two lines", "debits 100.0000 != credits 0.0000"],
    ],
    [
      "a zero line",
      voucher("0", [ledgerLine(1, "DEBIT", "0"), ledgerLine(2, "CREDIT", "0")]),
      ["a line amount is not positive"],
    ],
    [
      "a negative line",
      voucher("-5", [ledgerLine(1, "DEBIT", "-5"), ledgerLine(2, "CREDIT", "-5")]),
      ["a line amount is not positive"],
    ],
    [
      "debits differ from credits by 0.0001",
      voucher("100", [ledgerLine(1, "DEBIT", "100"), ledgerLine(2, "CREDIT", "99.9999")]),
      ["debits 100.0000 != credits 99.9999"],
    ],
    [
      "balanced lines but a different voucher amount",
      voucher("90", [ledgerLine(1, "DEBIT", "100"), ledgerLine(2, "CREDIT", "100")]),
      ["debits 100.0000 != amount 90.0000"],
    ],
    [
      "lines numbered from 0",
      voucher("1", [ledgerLine(0, "DEBIT", "1"), ledgerLine(1, "CREDIT", "1")]),
      ["line numbers are not 1..n"],
    ],
  ];
  for (const [name, v, problems] of cases) {
    it(name, () => assert.deepEqual(balanceProblems(v), problems));
  }
});
