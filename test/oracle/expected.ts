import { SEEDED_ACCOUNTS } from "../../src/domain/accounts.js";
import type {
  InventoryAdjusted,
  InventoryIssuedForSale,
  PaymentSucceeded,
  PurchaseOrderReceived,
} from "../../src/domain/events.js";
import type { SkipReason, VoucherKind } from "../../src/domain/voucher.js";
import type { DeadLetterReason } from "../../src/errors.js";
import { type Money, money } from "../../src/money.js";
import { ALL_SOURCE_TOPICS, type CdcTopic, SOURCE_TOPICS, type SourceTopic } from "../../src/topics.js";
import {
  type Dataset,
  type DatasetOptions,
  type Delivery,
  type EventItem,
  generateDataset,
} from "../../tools/simulate/dataset.js";
import { ExpectedWorld, type WorldAsOf } from "./expected-world.js";

export { ExpectedWorld, type WorldAsOf } from "./expected-world.js";

/**
 * What a data set should book, derived from the data alone with the wording of SPEC §3, §5
 * and §6 — deliberately without the posting rules, so that tests and the benchmark compare
 * the pipeline against an independent count.
 *
 * Counts are per published message: a redelivered or re-published event books its vouchers
 * again (each one an idempotent replay in the sink) and counts its skips again. `vouchers` is
 * what ends up in `finance.voucher` (distinct idempotency keys).
 */
export interface ExpectedTotals {
  events: { total: number; byTopic: Record<SourceTopic, number>; byDelivery: Record<Delivery, number> };
  cdc: {
    /** Messages on the CDC topics, tombstones included (as publish counts them). */
    total: number;
    byTopic: Record<CdcTopic, number>;
    /** Of those, tombstones (null values: compaction markers, no version). */
    tombstones: Record<CdcTopic, number>;
    /**
     * Rows the tables must refuse: owner moves (SPEC §5 "Owners never change"), account types or
     * statuses outside CONTRACTS'.
     */
    refused: Record<CdcTopic, number>;
    /** Merchants ever seen, deleted ones included: each keeps its seeded accounts. */
    merchants: number;
    seededAccounts: number;
  };
  /** Vouchers the topology emits to `finance.voucher` (the topic), per kind. */
  postings: Record<VoucherKind, number>;
  /** Rows in the `finance.voucher` table: distinct idempotency keys, per kind. */
  vouchers: Record<VoucherKind, number>;
  /** postings − vouchers: second copies the sink absorbs as idempotent replays. */
  replays: Record<VoucherKind, number>;
  /** Rows in `finance.ledger_line`. */
  ledgerLines: number;
  /** Sum of the amounts of the distinct vouchers per kind, with 4 places (as numeric(19,4) prints it). */
  amounts: Record<VoucherKind, string>;
  skips: Record<SkipReason, number>;
  deadLetters: Record<DeadLetterReason, number>;
}

export const VOUCHER_KINDS: readonly VoucherKind[] = [
  "SALE_RECEIPT",
  "SALE_CHANGE_RETURN",
  "PURCHASE_PAYMENT",
  "SALE_COGS",
  "INVENTORY_ADJUSTMENT",
];
export const SKIP_REASONS: readonly SkipReason[] = [
  "NO_FINANCE_ROUTING",
  "NO_CHANGE_DUE",
  "ZERO_COST_BASIS",
  "ZERO_VALUE_DELTA",
];
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  "UNDECODABLE",
  "INVALID_PAYLOAD",
  "UNRESOLVED",
  "CROSS_TENANT",
];

const zero = <T extends string>(keys: readonly T[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<T, number>;

/** What one event books, or why it is dead-lettered. */
export type Outcome =
  | { deadLetter: DeadLetterReason; why: string }
  | {
      deadLetter: null;
      vouchers: { kind: VoucherKind; key: string; amount: Money; lines: number }[];
      skips: SkipReason[];
    };

class DeadLetter extends Error {
  constructor(
    readonly reason: DeadLetterReason,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (why: string): never => {
  throw new DeadLetter("INVALID_PAYLOAD", why);
};

/** SPEC §3/§6: exact money with at most 4 places; `sign` says what else it must be. */
function checkMoney(v: Money, field: string, sign: "any" | "≥0" | ">0"): Money {
  if (!v.isFinite()) invalid(`${field} is not finite`);
  if (v.decimalPlaces() > 4) invalid(`${field} has more than 4 places`);
  if (sign === ">0" && !v.greaterThan(0)) invalid(`${field} must be positive`);
  if (sign === "≥0" && v.isNegative() && !v.isZero()) invalid(`${field} is negative`);
  return v;
}

function unique(ids: string[], field: string): void {
  if (new Set(ids).size !== ids.length) invalid(`${field} has duplicates`);
}

/** SPEC §5: a referenced entity must exist (else UNRESOLVED) and belong to the event's merchant. */
function owned(what: string, owner: string | undefined, merchantId: string): void {
  if (owner === undefined) throw new DeadLetter("UNRESOLVED", `${what} not found`);
  if (owner !== merchantId) throw new DeadLetter("CROSS_TENANT", `${what} belongs to ${owner}`);
}

/**
 * Worst first: a cross-tenant reference is never posted whatever else is wrong (SPEC §5), and a
 * bad reference will not fix itself, while a missing one may still arrive.
 */
const WORST_FIRST: readonly DeadLetterReason[] = ["CROSS_TENANT", "INVALID_PAYLOAD", "UNRESOLVED"];

/** An event's references, every one checked: the worst problem among them names its dead letter. */
class ReferenceChecks {
  private worst: DeadLetter | null = null;

  check(verify: () => void): void {
    try {
      verify();
    } catch (e) {
      if (!(e instanceof DeadLetter)) throw e;
      const rank = (d: DeadLetter) => WORST_FIRST.indexOf(d.reason);
      if (this.worst === null || rank(e) < rank(this.worst)) this.worst = e;
    }
  }

  /** Throws the worst problem found, if any. */
  settle(): void {
    if (this.worst !== null) throw this.worst;
  }
}

/** SPEC §5: an active money account of the merchant; a snapshot's status does not count before it. */
function moneyAccount(w: WorldAsOf, id: string, merchantId: string): void {
  const a = w.account(id);
  owned(`account ${id}`, a?.merchantId, merchantId);
  if (a?.value.type !== "MONEY") invalid(`account ${id} is not a money account`);
  if (a?.statusApplies && a.value.status !== "ACTIVE") invalid(`account ${id} is ${a.value.status}`);
}

/**
 * Booking anything needs the merchant's control accounts, seeded when the merchant appeared, and
 * the event in its book currency (SPEC §3); a merchant deleted before the event is not there.
 */
function merchantKnown(w: WorldAsOf, e: { merchantId: string; currency: string }): void {
  const m = w.merchant(e.merchantId);
  if (m === undefined) throw new DeadLetter("UNRESOLVED", `merchant ${e.merchantId} unknown`);
  const { currency } = m.value;
  if (currency !== e.currency) invalid(`currency ${e.currency} is not the merchant's ${currency}`);
}

/**
 * SPEC §3's key, written out here rather than taken from the posting rules: the kind, then
 * each part with `%` written `%25` and then `:` written `%3A`.
 */
function keyOf(kind: VoucherKind, ...parts: string[]): string {
  const escaped = parts.map((p) => p.replaceAll("%", "%25").replaceAll(":", "%3A"));
  return [kind, ...escaped].join(":");
}

function salePayment(e: PaymentSucceeded, w: WorldAsOf): Outcome {
  checkMoney(e.orderTotal, "orderTotal", "≥0");
  if (e.attempts.length === 0) invalid("no attempts");
  unique(
    e.attempts.map((a) => a.uid),
    "attempt uids",
  );
  for (const a of e.attempts) {
    checkMoney(a.amount, "amount", ">0");
    if (a.tendered !== null) {
      if (a.method !== "CASH") invalid("tendered on a non-cash attempt");
      checkMoney(a.tendered, "tendered", ">0");
      if (a.tendered.lessThan(a.amount)) invalid("tendered < amount");
    }
  }
  const vouchers: Extract<Outcome, { deadLetter: null }>["vouchers"] = [];
  const skips: SkipReason[] = [];
  const references = new ReferenceChecks();
  for (const a of e.attempts) {
    if (a.finance === null) {
      skips.push("NO_FINANCE_ROUTING");
      continue;
    }
    const accountId = a.finance.source.id;
    references.check(() => moneyAccount(w, accountId, e.merchantId));
    references.check(() => merchantKnown(w, e));
    const received = a.tendered ?? a.amount;
    const change = received.minus(a.amount);
    // DEBIT money, CREDIT revenue, and CREDIT change clearing when change is due.
    vouchers.push({
      kind: "SALE_RECEIPT",
      key: keyOf("SALE_RECEIPT", e.merchantId, "SALE_ORDER", e.saleOrderId, a.uid),
      amount: received,
      lines: change.isZero() ? 2 : 3,
    });
    if (change.greaterThan(0)) {
      vouchers.push({
        kind: "SALE_CHANGE_RETURN",
        key: keyOf("SALE_CHANGE_RETURN", e.merchantId, "SALE_ORDER", e.saleOrderId, a.uid),
        amount: change,
        lines: 2,
      });
    } else if (a.tendered !== null) {
      skips.push("NO_CHANGE_DUE");
    }
  }
  references.settle();
  return { deadLetter: null, vouchers, skips };
}

function purchase(e: PurchaseOrderReceived, w: WorldAsOf): Outcome {
  const received = checkMoney(e.receivedValue, "receivedValue", "≥0");
  unique(
    e.payments.map((p) => p.uid),
    "payment uids",
  );
  let paid = money(0);
  for (const p of e.payments) paid = paid.plus(checkMoney(p.amount, "payment amount", ">0"));
  if (e.payments.length === 0) return { deadLetter: null, vouchers: [], skips: ["NO_FINANCE_ROUTING"] };
  const references = new ReferenceChecks();
  for (const p of e.payments) references.check(() => moneyAccount(w, p.accountId, e.merchantId));
  references.check(() => {
    const po = w.purchaseOrder(e.purchaseOrderId);
    owned(`purchase order ${e.purchaseOrderId}`, po?.merchantId, e.merchantId);
    const vendorId = po?.value.vendorId;
    owned(`vendor ${vendorId}`, w.vendor(vendorId ?? "")?.merchantId, e.merchantId);
  });
  references.check(() => merchantKnown(w, e));
  references.settle();
  // CREDIT each payment; DEBIT inventory when received > 0; ACCOUNTS_PAYABLE for the difference.
  const lines = e.payments.length + (received.greaterThan(0) ? 1 : 0) + (paid.equals(received) ? 0 : 1);
  const amount = paid.greaterThan(received) ? paid : received;
  const key = keyOf("PURCHASE_PAYMENT", e.merchantId, "PURCHASE_ORDER", e.purchaseOrderId);
  return { deadLetter: null, vouchers: [{ kind: "PURCHASE_PAYMENT", key, amount, lines }], skips: [] };
}

function cogs(e: InventoryIssuedForSale, w: WorldAsOf): Outcome {
  const cost = checkMoney(e.costBasis, "costBasis", "≥0");
  if (cost.isZero()) return { deadLetter: null, vouchers: [], skips: ["ZERO_COST_BASIS"] };
  merchantKnown(w, e);
  const key = keyOf("SALE_COGS", e.merchantId, "SALE_ORDER", e.saleOrderId, e.attemptUid);
  return { deadLetter: null, vouchers: [{ kind: "SALE_COGS", key, amount: cost, lines: 2 }], skips: [] };
}

function adjustment(e: InventoryAdjusted, w: WorldAsOf): Outcome {
  const delta = checkMoney(e.valueDelta, "valueDelta", "any");
  if (delta.isZero()) return { deadLetter: null, vouchers: [], skips: ["ZERO_VALUE_DELTA"] };
  merchantKnown(w, e);
  const key = keyOf("INVENTORY_ADJUSTMENT", e.merchantId, "INVENTORY_TRACKING", e.inventoryTrackingId);
  return {
    deadLetter: null,
    vouchers: [{ kind: "INVENTORY_ADJUSTMENT", key, amount: delta.abs(), lines: 2 }],
    skips: [],
  };
}

/** What one published message should come to, against the world as it was when the event occurred. */
export function expectedOutcome(item: EventItem, world: ExpectedWorld): Outcome {
  if (item.raw !== null || item.event === null) {
    return { deadLetter: "UNDECODABLE", why: "not Avro in the registry wire format" };
  }
  const w = world.asOf(item.event.occurredAt);
  try {
    switch (item.topic) {
      case SOURCE_TOPICS.paymentSuccess:
        return salePayment(item.event as PaymentSucceeded, w);
      case SOURCE_TOPICS.purchaseOrderReceived:
        return purchase(item.event as PurchaseOrderReceived, w);
      case SOURCE_TOPICS.inventoryIssuedForSale:
        return cogs(item.event as InventoryIssuedForSale, w);
      case SOURCE_TOPICS.inventoryAdjusted:
        return adjustment(item.event as InventoryAdjusted, w);
    }
  } catch (e) {
    if (e instanceof DeadLetter) return { deadLetter: e.reason, why: e.message };
    throw e;
  }
}

/**
 * A 53-bit hash of an idempotency key: distinct keys are counted in a Set of numbers rather
 * than of strings, so a million events need tens of megabytes, not hundreds. (cyrb53; the
 * chance of one collision among a million keys is about 1e-4.)
 */
function keyHash(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Walks the whole data set (lazily) and totals what it should book. */
export function expectedTotals(dataset: Dataset): ExpectedTotals {
  const world = ExpectedWorld.of(dataset);
  const out: ExpectedTotals = {
    events: {
      total: 0,
      byTopic: zero(ALL_SOURCE_TOPICS),
      byDelivery: zero(["ORIGINAL", "REDELIVERY", "REPUBLICATION"]),
    },
    cdc: {
      total: Object.values<number>(world.messages).reduce((a, b) => a + b, 0),
      byTopic: world.messages,
      tombstones: world.tombstones,
      refused: world.refused,
      merchants: world.merchantCount,
      seededAccounts: world.merchantCount * SEEDED_ACCOUNTS.length,
    },
    postings: zero(VOUCHER_KINDS),
    vouchers: zero(VOUCHER_KINDS),
    replays: zero(VOUCHER_KINDS),
    ledgerLines: 0,
    amounts: Object.fromEntries(VOUCHER_KINDS.map((k) => [k, "0.0000"])) as Record<VoucherKind, string>,
    skips: zero(SKIP_REASONS),
    deadLetters: zero(DEAD_LETTER_REASONS),
  };
  const amounts = new Map<VoucherKind, Money>(VOUCHER_KINDS.map((k) => [k, money(0)]));
  const seen = new Set<number>();
  for (const item of dataset.events()) {
    out.events.total++;
    out.events.byTopic[item.topic]++;
    out.events.byDelivery[item.delivery]++;
    const outcome = expectedOutcome(item, world);
    if (outcome.deadLetter !== null) {
      out.deadLetters[outcome.deadLetter]++;
      continue;
    }
    for (const s of outcome.skips) out.skips[s]++;
    for (const v of outcome.vouchers) {
      out.postings[v.kind]++;
      const h = keyHash(v.key);
      if (seen.has(h)) {
        out.replays[v.kind]++;
        continue;
      }
      seen.add(h);
      out.vouchers[v.kind]++;
      out.ledgerLines += v.lines;
      amounts.set(v.kind, (amounts.get(v.kind) as Money).plus(v.amount));
    }
  }
  for (const [k, v] of amounts) out.amounts[k] = v.toFixed(4);
  return out;
}

/** expectedTotals of the data set these options generate. */
export function expectedFor(options: DatasetOptions): ExpectedTotals {
  return expectedTotals(generateDataset(options));
}
