import { randomBytes } from "node:crypto";
import type { LedgerLine, Voucher, VoucherKind } from "../../src/domain/voucher.js";
import { voucherIdOf } from "../../src/ids.js";
import { money } from "../../src/money.js";

/**
 * A balanced SALE_RECEIPT-shaped voucher with three lines (cash in, revenue, change), unique
 * per `id`. Amounts are strings so tests can state exact decimals.
 */
export function sampleVoucher(
  id: string,
  opts: { kind?: VoucherKind; revenue?: string; change?: string; merchantId?: string } = {},
): Voucher {
  const kind = opts.kind ?? "SALE_RECEIPT";
  const merchantId = opts.merchantId ?? "m-1";
  const key = `${kind}:${merchantId}:SALE_ORDER:${id}:att-1`;
  const revenue = money(opts.revenue ?? "100000.5");
  const change = money(opts.change ?? "0.25");
  return {
    voucherId: voucherIdOf(key),
    idempotencyKey: key,
    merchantId,
    type: "RECEIPT",
    kind,
    category: "SALE",
    currency: "VND",
    amount: revenue.plus(change),
    party: { type: "CUSTOMER", id: `cust-${id}`, name: { en: "Nguyen Van A", vi: "Nguyễn Văn A" } },
    reason: { en: `Sale ${id}`, vi: `Bán hàng ${id}` },
    source: { type: "SALE_ORDER", id, code: `SO-${id}` },
    origin: { eventId: `evt-${id}`, topic: "payment.success", partition: 3, offset: 42 },
    occurredAt: Date.UTC(2024, 4, 17, 8, 30, 15, 123),
    lines: [
      {
        lineNo: 1,
        accountId: `cash-${merchantId}`,
        accountCode: "CASH",
        side: "DEBIT",
        amount: revenue.plus(change),
      },
      {
        lineNo: 2,
        accountId: `rev-${merchantId}`,
        accountCode: "SALES_REVENUE",
        side: "CREDIT",
        amount: revenue,
      },
      {
        lineNo: 3,
        accountId: `chg-${merchantId}`,
        accountCode: "CHANGE_CLEARING",
        side: "CREDIT",
        amount: change,
      },
    ],
  };
}

/**
 * Vouchers Postgres refuses for their content, each for another reason, with the error it
 * is refused with: some caught by the sink's pre-check, some only by Postgres itself.
 */
export function refusedVouchers(id: string) {
  // A source id far beyond the contract's 255 characters, incompressible, so its row in the
  // (merchant_id, source_type, source_id) index really is too large (54000). (The key itself has
  // a hash index since migration 2, which takes a key of any size.)
  const hugeId = randomBytes(50_000).toString("hex");
  const hugeKey = `SALE_RECEIPT:m-1:SALE_ORDER:${hugeId}:att-1`;
  const huge = sampleVoucher(`${id}-huge`);
  const withNul = sampleVoucher(`${id}-nul`);
  withNul.reason.en = "Sale\u0000";
  return {
    hugeKey: {
      voucher: {
        ...huge,
        source: { ...huge.source, id: hugeId },
        idempotencyKey: hugeKey,
        voucherId: voucherIdOf(hugeKey),
      },
      error: /index row/,
    },
    nul: { voucher: withNul, error: /NUL/ },
    farFuture: { voucher: { ...sampleVoucher(`${id}-future`), occurredAt: 8.64e15 }, error: /occurredAt/ },
    // a CHECK violation (23514), and a voucher id that is no uuid (22P02, raised inside COPY)
    badType: {
      voucher: { ...sampleVoucher(`${id}-type`), type: "REFUND" } as unknown as Voucher,
      error: /check constraint/,
    },
    badId: { voucher: { ...sampleVoucher(`${id}-id`), voucherId: "not-a-uuid" }, error: /uuid/ },
  };
}

/** A ledger line on account `acc-<lineNo>`, its amount as exact decimal text. */
export const ledgerLine = (
  lineNo: number,
  side: LedgerLine["side"],
  amount: string,
  accountCode: string | null = null,
): LedgerLine => ({ lineNo, accountId: `acc-${lineNo}`, accountCode, side, amount: money(amount) });
