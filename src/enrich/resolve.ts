import { setTimeout as sleep } from "node:timers/promises";
import type { Account, ControlCode } from "../domain/accounts.js";
import type { Needs, PurchaseOrderRef, ResolvedContext, VendorRef } from "../domain/context.js";
import { CrossTenantError, InvalidPayloadError, UnresolvedError } from "../errors.js";
import type { MaterializedTables } from "./tables.js";

/**
 * Resolves an event's references against the local tables, now. Missing → UnresolvedError
 * (usually CDC that has not arrived yet); owned by another merchant → CrossTenantError.
 */
export function resolveNow(tables: MaterializedTables, merchantId: string, needs: Needs): ResolvedContext {
  const owned = <T extends { merchantId: string }>(what: string, id: string, found: T | undefined): T => {
    if (!found) throw new UnresolvedError(`${what} ${id} not found for merchant ${merchantId}`);
    if (found.merchantId !== merchantId) {
      throw new CrossTenantError(`${what} ${id} belongs to merchant ${found.merchantId}, not ${merchantId}`);
    }
    return found;
  };

  const accounts = new Map<string, Account>();
  for (const id of needs.accountIds) {
    const account = owned("account", id, tables.account(id));
    if (account.type !== "MONEY")
      throw new InvalidPayloadError(`account ${id} is a ${account.type} account, not a money account`);
    accounts.set(id, account);
  }
  const control = new Map<ControlCode, Account>();
  for (const code of needs.controlCodes) {
    const account = tables.controlAccount(merchantId, code);
    if (!account) throw new UnresolvedError(`control account ${code} not found for merchant ${merchantId}`);
    control.set(code, account);
  }
  let purchaseOrder: PurchaseOrderRef | null = null;
  let vendor: VendorRef | null = null;
  if (needs.purchaseOrderId !== null) {
    purchaseOrder = owned(
      "purchase order",
      needs.purchaseOrderId,
      tables.purchaseOrder(needs.purchaseOrderId),
    );
    vendor = owned("vendor", purchaseOrder.vendorId, tables.vendor(purchaseOrder.vendorId));
  }
  return { accounts, control, purchaseOrder, vendor };
}

export interface WaitPolicy {
  timeoutMs: number;
  /** Called while waiting, e.g. to heartbeat the consumer group. */
  onWait?: () => Promise<void>;
  signal?: AbortSignal;
}

/**
 * Like resolveNow, but an unresolved reference is retried with exponential backoff while the
 * tables catch up, for at most `timeoutMs`. Other errors are final at once.
 */
export async function resolveWithin(
  tables: MaterializedTables,
  merchantId: string,
  needs: Needs,
  policy: WaitPolicy,
): Promise<ResolvedContext> {
  const deadline = Date.now() + policy.timeoutMs;
  let delay = 25;
  for (;;) {
    try {
      return resolveNow(tables, merchantId, needs);
    } catch (e) {
      const remaining = deadline - Date.now();
      if (!(e instanceof UnresolvedError) || remaining <= 0 || policy.signal?.aborted) throw e;
      await sleep(Math.min(delay, remaining));
      delay = Math.min(delay * 2, 1_000);
      await policy.onWait?.();
    }
  }
}
