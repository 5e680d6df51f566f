import type { Account, ControlCode } from "./accounts.js";

/** What a posting rule needs resolved before it can post an event. */
export interface Needs {
  /** Money accounts referenced by id (payment attempts, purchase payments). */
  accountIds: string[];
  /** Control accounts of the event's merchant, by code. */
  controlCodes: ControlCode[];
  /** A purchase order, and through it its vendor. */
  purchaseOrderId: string | null;
}

export interface PurchaseOrderRef {
  id: string;
  merchantId: string;
  code: string;
  vendorId: string;
}

export interface VendorRef {
  id: string;
  merchantId: string;
  name: string;
}

/**
 * Everything a rule may look up, already checked to belong to the event's merchant.
 * A rule only reads what its `needs` asked for; resolution guarantees those are present.
 */
export interface ResolvedContext {
  accounts: ReadonlyMap<string, Account>;
  control: ReadonlyMap<ControlCode, Account>;
  purchaseOrder: PurchaseOrderRef | null;
  vendor: VendorRef | null;
}
