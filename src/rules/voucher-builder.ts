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

/**
 * One part of a key after the kind (SPEC §3): `%` first, so the `%` of an escape is never
 * escaped again, then `:`, the separator. Nothing else changes, so ids without either (UUIDs)
 * keep the keys they had before escaping, and each part reads back unambiguously.
 */
export function escapeKeyPart(part: string): string {
  if (!part.includes("%") && !part.includes(":")) return part;
  return part.replaceAll("%", "%25").replaceAll(":", "%3A");
}

/**
 * `<kind>:<merchantId>:<sourceType>:<sourceId>[:<subId>]`, from the document, never the
 * delivery; every part after the kind escaped, so two documents never share a key.
 */
export function idempotencyKey(
  kind: VoucherKind,
  merchantId: string,
  sourceType: SourceType,
  sourceId: string,
  subId?: string,
): string {
  const e = escapeKeyPart;
  const key = `${kind}:${e(merchantId)}:${e(sourceType)}:${e(sourceId)}`;
  return subId === undefined ? key : `${key}:${e(subId)}`;
}

/** An escape of escapeKeyPart, read back in one pass so `%253A` becomes `%3A` and no more. */
const ESCAPE = /%(25|3A)/g;
const unescapePart = (escaped: string) => (escaped === "%25" ? "%" : ":");

/**
 * The key as versions before escaping built it: the same parts joined unescaped. An escaped
 * part holds no `:`, so the separators of a key are exactly its colons. Equal to the key
 * unless one of its ids contains `:` or `%` — only such a voucher may be stored under
 * another key by an older version.
 */
export function unescapedKey(key: string): string {
  return key.includes("%") ? key.replace(ESCAPE, unescapePart) : key;
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
