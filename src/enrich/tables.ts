import type { Account, AccountType, ControlCode } from "../domain/accounts.js";
import { seededAccountsFor } from "../domain/accounts.js";
import type { PurchaseOrderRef, VendorRef } from "../domain/context.js";

export interface MerchantRow {
  id: string;
  name: string;
  currency: string;
  status: string;
}

/**
 * The local copies of the CDC tables (merchant, finance account, vendor, purchase order),
 * like a Kafka Streams GlobalKTable. Lookups are by id and always merchant-scoped by the
 * caller (see resolve.ts): an entity is returned with its owner so tenancy can be checked.
 */
export class MaterializedTables {
  private readonly merchants = new Map<string, MerchantRow>();
  private readonly seeded = new Set<string>();
  private readonly seededAccountIds = new Set<string>();
  private readonly accounts = new Map<string, Account>();
  private readonly accountByCode = new Map<string, Account>();
  private readonly vendors = new Map<string, VendorRef>();
  private readonly purchaseOrders = new Map<string, PurchaseOrderRef>();
  /** Bumped on every change, so a waiting resolver knows when to look again. */
  version = 0;

  merchant(id: string): MerchantRow | undefined {
    return this.merchants.get(id);
  }
  account(id: string): Account | undefined {
    return this.accounts.get(id);
  }
  controlAccount(merchantId: string, code: ControlCode): Account | undefined {
    return this.accountByCode.get(codeKey(merchantId, code));
  }
  vendor(id: string): VendorRef | undefined {
    return this.vendors.get(id);
  }
  purchaseOrder(id: string): PurchaseOrderRef | undefined {
    return this.purchaseOrders.get(id);
  }

  /**
   * Upserts a merchant; the first sighting seeds its default and control accounts, which are
   * returned (empty when already seeded) so the caller can persist them.
   */
  upsertMerchant(row: MerchantRow): Account[] {
    this.merchants.set(row.id, row);
    this.version++;
    if (this.seeded.has(row.id)) return [];
    this.seeded.add(row.id);
    const accounts = seededAccountsFor(row.id);
    for (const a of accounts) {
      this.accounts.set(a.id, a);
      this.seededAccountIds.add(a.id);
      // Seeded accounts own their codes: a CDC row reusing a code never displaces them,
      // so every instance and replay resolves the same account whatever the arrival order.
      if (a.code) this.accountByCode.set(codeKey(a.merchantId, a.code), a);
    }
    return accounts;
  }

  upsertAccount(a: Account): void {
    this.accounts.set(a.id, a);
    if (a.code) {
      const key = codeKey(a.merchantId, a.code);
      const current = this.accountByCode.get(key);
      if (!current || !this.isSeeded(current)) this.accountByCode.set(key, a);
    }
    this.version++;
  }

  upsertVendor(v: VendorRef): void {
    this.vendors.set(v.id, v);
    this.version++;
  }

  upsertPurchaseOrder(po: PurchaseOrderRef): void {
    this.purchaseOrders.set(po.id, po);
    this.version++;
  }

  deleteMerchant(id: string): void {
    // Its seeded accounts stay: old events may still reference them.
    this.merchants.delete(id);
    this.version++;
  }

  deleteAccount(id: string): void {
    const a = this.accounts.get(id);
    if (!a || this.isSeeded(a)) return;
    this.accounts.delete(id);
    if (a.code && this.accountByCode.get(codeKey(a.merchantId, a.code))?.id === id) {
      this.accountByCode.delete(codeKey(a.merchantId, a.code));
    }
    this.version++;
  }

  deleteVendor(id: string): void {
    this.vendors.delete(id);
    this.version++;
  }

  deletePurchaseOrder(id: string): void {
    this.purchaseOrders.delete(id);
    this.version++;
  }

  get sizes() {
    return {
      merchants: this.merchants.size,
      accounts: this.accounts.size,
      vendors: this.vendors.size,
      purchaseOrders: this.purchaseOrders.size,
    };
  }

  private isSeeded(a: Account): boolean {
    return this.seededAccountIds.has(a.id);
  }
}

const codeKey = (merchantId: string, code: string) => `${merchantId}\u0000${code}`;

export function accountType(value: string): AccountType {
  return value === "CONTROL" ? "CONTROL" : "MONEY";
}
