import type { Account, AccountType, ControlCode } from "../domain/accounts.js";
import type { Needs, PurchaseOrderRef, ResolvedContext, VendorRef } from "../domain/context.js";
import type { EventEnvelope } from "../domain/events.js";
import { CrossTenantError, InvalidPayloadError, UnresolvedError } from "../errors.js";
import { BACKOFF, retry } from "../retry.js";
import type { MaterializedTables } from "./tables.js";
import type { AsOf } from "./versions.js";

/** Worst first: a cross-tenant reference is never posted whatever else is wrong (SPEC §5), a bad
 * reference will not fix itself, and only a purely missing one is worth waiting for. */
const PRECEDENCE = [CrossTenantError, InvalidPayloadError, UnresolvedError] as const;

type Problem = CrossTenantError | InvalidPayloadError | UnresolvedError;

/** What resolution needs to know of the event itself. */
export type ResolvableEvent = Pick<EventEnvelope, "merchantId" | "occurredAt" | "currency">;

const isoTime = (ms: number) => new Date(ms).toISOString();

/**
 * Resolves an event's references against the local tables as they were when the event occurred
 * (SPEC §5 "Time"), so the same topics give the same books whenever they are processed. Every
 * reference is checked — the merchant and its book currency, owner, type and status of every
 * account, money or control — and the worst problem found wins: CROSS_TENANT, then
 * INVALID_PAYLOAD, then UNRESOLVED (usually CDC not arrived yet). Control accounts are the
 * merchant's seeded ones, by their deterministic ids, so the answer never depends on the order
 * in which CDC rows arrived.
 */
export function resolveNow(
  tables: MaterializedTables,
  event: ResolvableEvent,
  needs: Needs,
): ResolvedContext {
  const { merchantId, occurredAt: at } = event;
  const problems: Problem[] = [];
  const owned = <T extends { merchantId: string }>(what: string, id: string, found: T | undefined) => {
    if (!found)
      problems.push(
        new UnresolvedError(`${what} ${id} not found for merchant ${merchantId} at ${isoTime(at)}`),
      );
    else if (found.merchantId !== merchantId) {
      problems.push(
        new CrossTenantError(`${what} ${id} belongs to merchant ${found.merchantId}, not ${merchantId}`),
      );
    } else return found;
    return undefined;
  };
  const usable = (what: string, id: string, type: AccountType, found: AsOf<Account> | undefined) => {
    const account = owned(what, id, found?.row);
    if (account && account.type !== type) {
      problems.push(
        new InvalidPayloadError(`${what} ${id} is a ${account.type} account, not a ${type} account`),
      );
    } else if (account && found?.statusApplies && account.status !== "ACTIVE") {
      problems.push(
        new InvalidPayloadError(`${what} ${id} was ${account.status} at ${isoTime(at)}, not ACTIVE`),
      );
    } else return account;
    return undefined;
  };

  if (!needsAnything(needs))
    return { accounts: new Map(), control: new Map(), purchaseOrder: null, vendor: null };
  const merchant = tables.merchant(merchantId, at);
  if (!merchant) {
    problems.push(new UnresolvedError(`merchant ${merchantId} not known at ${isoTime(at)}`));
  } else if (merchant.currency !== event.currency) {
    // A ledger line has no currency of its own and finance converts nothing (SPEC §3).
    problems.push(
      new InvalidPayloadError(
        `currency ${event.currency} is not merchant ${merchantId}'s book currency ${merchant.currency}`,
      ),
    );
  }
  const accounts = new Map<string, Account>();
  for (const id of needs.accountIds) {
    const account = usable("account", id, "MONEY", tables.account(id, at));
    if (account) accounts.set(id, account);
  }
  const control = new Map<ControlCode, Account>();
  for (const code of needs.controlCodes) {
    const id = tables.seededAccountId(merchantId, code);
    if (id === undefined) {
      problems.push(new UnresolvedError(`control account ${code}: merchant ${merchantId} not seen yet`));
      continue;
    }
    const account = usable(`control account ${code}`, id, "CONTROL", tables.account(id, at));
    if (account) control.set(code, account);
  }
  let purchaseOrder: PurchaseOrderRef | null = null;
  let vendor: VendorRef | null = null;
  if (needs.purchaseOrderId !== null) {
    const id = needs.purchaseOrderId;
    purchaseOrder = owned("purchase order", id, tables.purchaseOrder(id, at)) ?? null;
    if (purchaseOrder)
      vendor = owned("vendor", purchaseOrder.vendorId, tables.vendor(purchaseOrder.vendorId, at)) ?? null;
  }
  const worst = PRECEDENCE.map((kind) => problems.find((p) => p instanceof kind)).find(
    (p) => p !== undefined,
  );
  if (worst) throw worst;
  return { accounts, control, purchaseOrder, vendor };
}

/** An event that books nothing (every attempt unrouted, no payments) looks nothing up. */
const needsAnything = (n: Needs) =>
  n.accountIds.length > 0 || n.controlCodes.length > 0 || n.purchaseOrderId !== null;

export interface WaitPolicy {
  timeoutMs: number;
  /** Called while waiting, e.g. to heartbeat the consumer group. */
  onWait?: () => Promise<void>;
  signal?: AbortSignal;
}

/**
 * Like resolveNow, but an unresolved reference is retried with backoff while the tables catch
 * up, for at most `timeoutMs`. Other problems are final at once. Aborted by `signal` (shutdown),
 * it fails as transient: the event was not given its time, so it must not be dead-lettered.
 */
export function resolveWithin(
  tables: MaterializedTables,
  event: ResolvableEvent,
  needs: Needs,
  policy: WaitPolicy,
): Promise<ResolvedContext> {
  return retry(() => resolveNow(tables, event, needs), {
    ...BACKOFF.references,
    deadlineMs: policy.timeoutMs,
    retryIf: (e) => e instanceof UnresolvedError,
    ...(policy.onWait ? { onWait: policy.onWait } : {}),
    ...(policy.signal ? { signal: policy.signal } : {}),
  });
}
