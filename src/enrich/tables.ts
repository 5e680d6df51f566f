import type { Account } from "../domain/accounts.js";
import { seededAccountsFor } from "../domain/accounts.js";
import type { PurchaseOrderRef, VendorRef } from "../domain/context.js";
import { type PutOutcome, type RefusalReason, VersionedTable } from "./versioned-table.js";
import { type AsOf, type Version, versionAt } from "./versions.js";

export interface MerchantRow {
  id: string;
  name: string;
  /** The merchant's book currency: every voucher of its events is in it (SPEC §3). */
  currency: string;
  status: string;
}

/** An account row that was refused because its merchant's derivation owns the id. */
export interface DisownedAccount {
  id: string;
  claimedBy: string;
  ownedBy: string;
}

/** A change to a merchant: what it did, and on a merchant's first version, what that seeded. */
export type MerchantPut = PutOutcome & { seeded?: Account[]; disowned?: DisownedAccount[] };

/**
 * The local copies of the CDC tables (merchant, finance account, vendor, purchase order), like a
 * Kafka Streams GlobalKTable, but versioned (SPEC §5 "Time"): each entity keeps the versions
 * the CDC topic told of, with their source commit times, and a lookup returns the version in
 * force when the event occurred. Lookups are by id and merchant-scoped by the caller
 * (resolve.ts): an entity comes with its owner so tenancy can be checked.
 */
export class MaterializedTables {
  private readonly merchants = new VersionedTable<MerchantRow>({
    name: "merchant",
    same: (a, b) => a.currency === b.currency,
  });
  /** Per merchant ever seen: its seeded accounts' ids by code (UUID v5 costs a hash). */
  private readonly seeded = new Map<string, ReadonlyMap<string, string>>();
  /**
   * A seeded account as finance creates it, in force from its merchant's first version: the
   * account topic may add versions (a renamed or archived CASH), never replace this one.
   */
  private readonly seededDefaults = new Map<string, Version<Account>>();
  private readonly accounts = new VersionedTable<Account>({
    name: "account",
    owner: (a) => a.merchantId,
    same: (a, b) => a.code === b.code && a.type === b.type && a.status === b.status,
    derivedOwner: (id) => this.seededDefaults.get(id)?.row?.merchantId,
  });
  private readonly vendors = new VersionedTable<VendorRef>({
    name: "vendor",
    owner: (v) => v.merchantId,
    same: (a, b) => a.name === b.name,
  });
  private readonly purchaseOrders = new VersionedTable<PurchaseOrderRef>({
    name: "purchase order",
    owner: (po) => po.merchantId,
    same: (a, b) => a.code === b.code && a.vendorId === b.vendorId,
  });

  merchant(id: string, at: number): MerchantRow | undefined {
    return this.merchants.asOf(id, at)?.row;
  }

  /** The account as of `at`; a seeded one's derived default comes first in its history. */
  account(id: string, at: number): AsOf<Account> | undefined {
    const seededDefault = this.seededDefaults.get(id);
    const versions = this.accounts.versions(id);
    if (seededDefault === undefined) return versions === undefined ? undefined : versionAt(versions, at);
    return versionAt(versions === undefined ? [seededDefault] : [seededDefault, ...versions], at);
  }

  /** The id of a merchant's seeded account with this code, once the merchant has been seen. */
  seededAccountId(merchantId: string, code: string): string | undefined {
    return this.seeded.get(merchantId)?.get(code);
  }

  vendor(id: string, at: number): VendorRef | undefined {
    return this.vendors.asOf(id, at)?.row;
  }

  purchaseOrder(id: string, at: number): PurchaseOrderRef | undefined {
    return this.purchaseOrders.asOf(id, at)?.row;
  }

  /**
   * A merchant's version. Its first seeds its default and control accounts (returned, so the
   * caller can persist them), in force from that version's time; account rows that came
   * earlier naming another owner for those ids are dropped (returned as `disowned`).
   */
  putMerchant(id: string, version: Version<MerchantRow>): MerchantPut {
    const outcome = this.merchants.put(id, version);
    if (outcome.kind !== "versioned" || this.seeded.has(id) || version.row === null) return outcome;
    const accounts = seededAccountsFor(id);
    this.seeded.set(id, new Map(accounts.map((a) => [a.code as string, a.id])));
    const disowned: DisownedAccount[] = [];
    for (const a of accounts) {
      this.seededDefaults.set(a.id, { at: version.at, snapshot: version.snapshot, row: a });
      const claimedBy = this.accounts.rederive(a.id, id);
      if (claimedBy !== undefined) disowned.push({ id: a.id, claimedBy, ownedBy: id });
    }
    return { ...outcome, seeded: accounts, disowned };
  }

  putAccount(id: string, version: Version<Account>): PutOutcome {
    return this.accounts.put(id, version);
  }

  /** An account row refused for its type or status: reported once, however often it is read. */
  refuseAccount(signature: string, reason: RefusalReason, message: string): PutOutcome {
    return this.accounts.refuse(signature, reason, message);
  }

  putVendor(id: string, version: Version<VendorRef>): PutOutcome {
    return this.vendors.put(id, version);
  }

  putPurchaseOrder(id: string, version: Version<PurchaseOrderRef>): PutOutcome {
    const row = version.row;
    if (row === null) return this.purchaseOrders.put(id, version);
    // Purchase orders are the largest table (over 100k rows at a million events), and each
    // decoded row brings its own copies of its own, the merchant's and the vendor's ids: share them.
    const shared = {
      ...row,
      id: this.purchaseOrders.versions(id)?.[0]?.row?.id ?? row.id,
      merchantId: this.sharedMerchantId(row.merchantId),
      vendorId: this.vendors.versions(row.vendorId)?.[0]?.row?.id ?? row.vendorId,
    };
    return this.purchaseOrders.put(id, { ...version, row: shared });
  }

  /** The kept versions are loaded: their topics are read again from the start (VersionedTable.expectReread). */
  expectReread(): void {
    for (const table of [this.merchants, this.accounts, this.vendors, this.purchaseOrders])
      table.expectReread();
  }

  get sizes() {
    return {
      merchants: this.merchants.size,
      accounts: this.accounts.size,
      vendors: this.vendors.size,
      purchaseOrders: this.purchaseOrders.size,
    };
  }

  private sharedMerchantId(id: string): string {
    return this.merchants.versions(id)?.[0]?.row?.id ?? id;
  }
}
