import type { Account, ControlCode } from "../domain/accounts.js";
import type { Needs, ResolvedContext } from "../domain/context.js";
import type { EventEnvelope, Origin } from "../domain/events.js";
import {
  assertBalanced,
  type BilingualText,
  type Party,
  type Side,
  type Skip,
  type SkipReason,
  type SourceType,
  type Voucher,
  type VoucherKind,
  type VoucherType,
  WALK_IN_CUSTOMER,
} from "../domain/voucher.js";
import { voucherIdOf } from "../ids.js";
import type { Money } from "../money.js";

/** SPEC §3: each kind always books the same voucher type and category. */
const KIND_META: Record<VoucherKind, { type: VoucherType; category: string }> = {
  SALE_RECEIPT: { type: "RECEIPT", category: "SALE" },
  SALE_CHANGE_RETURN: { type: "PAYMENT", category: "CHANGE_RETURN" },
  PURCHASE_PAYMENT: { type: "PAYMENT", category: "PURCHASE" },
  SALE_COGS: { type: "ADJUSTMENT", category: "COGS" },
  INVENTORY_ADJUSTMENT: { type: "ADJUSTMENT", category: "INVENTORY_ADJUSTMENT" },
};

export interface LineDraft {
  account: Account;
  side: Side;
  amount: Money;
}

export interface VoucherDraft {
  kind: VoucherKind;
  source: { type: SourceType; id: string; code: string | null };
  /** Names the sub-document (attempt uid) when one source document yields several vouchers. */
  subId?: string;
  amount: Money;
  party: Party;
  reason: BilingualText;
  lines: LineDraft[];
}

/** `<kind>:<merchantId>:<sourceType>:<sourceId>[:<subId>]`, from the document, never the delivery. */
export function idempotencyKey(
  kind: VoucherKind,
  merchantId: string,
  sourceType: SourceType,
  sourceId: string,
  subId?: string,
): string {
  const key = `${kind}:${merchantId}:${sourceType}:${sourceId}`;
  return subId === undefined ? key : `${key}:${subId}`;
}

/** Assembles a voucher from its draft and refuses to return one that does not balance. */
export function buildVoucher(event: EventEnvelope, origin: Origin, draft: VoucherDraft): Voucher {
  const key = idempotencyKey(draft.kind, event.merchantId, draft.source.type, draft.source.id, draft.subId);
  return assertBalanced({
    voucherId: voucherIdOf(key),
    idempotencyKey: key,
    merchantId: event.merchantId,
    ...KIND_META[draft.kind],
    kind: draft.kind,
    currency: event.currency,
    amount: draft.amount,
    party: draft.party,
    reason: draft.reason,
    source: { ...draft.source },
    // Copied field by field so nothing else the caller's object carries leaks into the record.
    origin: {
      eventId: origin.eventId,
      topic: origin.topic,
      partition: origin.partition,
      offset: origin.offset,
    },
    occurredAt: event.occurredAt,
    lines: draft.lines.map((l, i) => ({
      lineNo: i + 1,
      accountId: l.account.id,
      accountCode: l.account.code,
      side: l.side,
      amount: l.amount,
    })),
  });
}

/** The two lines of a plain transfer between two accounts. */
export function transfer(debit: Account, credit: Account, amount: Money): LineDraft[] {
  return [
    { account: debit, side: "DEBIT", amount },
    { account: credit, side: "CREDIT", amount },
  ];
}

export function skip(reason: SkipReason, event: EventEnvelope, subject: string | null): Skip {
  return { reason, eventId: event.eventId, subject };
}

/** Fresh each time: callers may append to the arrays. */
export function needsNothing(): Needs {
  return { accountIds: [], controlCodes: [], purchaseOrderId: null };
}

export function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

// Resolution guarantees what `needs` asked for; a gap here is a bug in a rule or the
// resolver, not bad input, hence a plain Error rather than a PostingError.
export function moneyAccount(ctx: ResolvedContext, id: string): Account {
  const account = ctx.accounts.get(id);
  if (!account) throw new Error(`posting rule bug: money account ${id} was not resolved`);
  return account;
}

export function controlAccount(ctx: ResolvedContext, code: ControlCode): Account {
  const account = ctx.control.get(code);
  if (!account) throw new Error(`posting rule bug: control account ${code} was not resolved`);
  return account;
}

export function customerParty(customer: { id: string; name: string } | null): Party {
  if (customer === null) return WALK_IN_CUSTOMER;
  return { type: "CUSTOMER", id: customer.id, name: { en: customer.name, vi: customer.name } };
}

/** A blank code is no code: the voucher says null rather than "". */
export function nonBlank(text: string | null): string | null {
  return text !== null && text.trim().length > 0 ? text : null;
}

/** Humans know an order by its code; fall back to the id when there is none. */
export function documentLabel(code: string | null, id: string): string {
  return nonBlank(code) ?? id;
}
