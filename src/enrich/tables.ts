import type { Account, AccountType } from "../domain/accounts.js";
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
  /** Per merchant seen on the merchant topic: its seeded accounts' ids by code (UUID v5 costs a hash). */
  private readonly seeded = new Map<string, ReadonlyMap<string, string>>();
  private readonly seededAccountIds = new Set<string>();
  private readonly accounts = new Map<string, Account>();
  private readonly vendors = new Map<string, VendorRef>();
  private readonly purchaseOrders = new Map<string, PurchaseOrderRef>();

  merchant(id: string): MerchantRow | undefined {
    return this.merchants.get(id);
  }
  account(id: string): Account | undefined {
    return this.accounts.get(id);
  }
  /** The id of a merchant's seeded account with this code, once the merchant has been seen. */
  seededAccountId(merchantId: string, code: string): string | undefined {
    return this.seeded.get(merchantId)?.get(code);
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
    if (this.seeded.has(row.id)) return [];
    const accounts = seededAccountsFor(row.id);
    this.seeded.set(row.id, new Map(accounts.map((a) => [a.code as string, a.id])));
    for (const a of accounts) {
      this.seededAccountIds.add(a.id);
      // A CDC row of a seeded account that came first is newer truth than the defaults.
      if (!this.accounts.has(a.id)) this.accounts.set(a.id, a);
    }
    return accounts;
  }

  /** The latest row of an account stands, seeded or not; resolution checks what it says. */
  upsertAccount(a: Account): void {
    this.accounts.set(a.id, a);
  }

  upsertVendor(v: VendorRef): void {
    this.vendors.set(v.id, { ...v, merchantId: this.sharedMerchantId(v.merchantId) });
  }

  upsertPurchaseOrder(po: PurchaseOrderRef): void {
    const vendorId = this.vendors.get(po.vendorId)?.id ?? po.vendorId;
    this.purchaseOrders.set(po.id, { ...po, merchantId: this.sharedMerchantId(po.merchantId), vendorId });
  }

  deleteMerchant(id: string): void {
    // Its seeded accounts stay: old events may still reference them.
    this.merchants.delete(id);
  }

  deleteAccount(id: string): void {
    const a = this.accounts.get(id);
    if (!a || this.isSeeded(a)) return;
    this.accounts.delete(id);
  }

  deleteVendor(id: string): void {
    this.vendors.delete(id);
  }

  deletePurchaseOrder(id: string): void {
    this.purchaseOrders.delete(id);
  }

  get sizes() {
    return {
      merchants: this.merchants.size,
      accounts: this.accounts.size,
      vendors: this.vendors.size,
      purchaseOrders: this.purchaseOrders.size,
    };
  }

  /**
   * The merchant's own id string when the merchant is known: purchase orders are the largest
   * table (over 100k rows at a million events), and each decoded row brings its own copies of
   * the merchant's and vendor's ids, a third of the table's memory.
   */
  private sharedMerchantId(id: string): string {
    return this.merchants.get(id)?.id ?? id;
  }

  private isSeeded(a: Account): boolean {
    return this.seededAccountIds.has(a.id);
  }
}

export function accountType(value: string): AccountType {
  return value === "CONTROL" ? "CONTROL" : "MONEY";
}
