import { STREAM, streamRng } from "../random.js";
import type { SimMerchant, SimMoneyAccount } from "./merchants.js";
import { pad6, VENDOR_NAMES } from "./names.js";
import type { SimPurchaseOrder } from "./purchase-orders.js";

/**
 * What changes in the seller database after every event of a data set: the history the books
 * must not be rewritten by (SPEC §5 "Time"). Each event must still resolve against the world as
 * it was when it occurred, so these changes book nothing and move nothing.
 */

export interface MerchantChanges {
  merchant: SimMerchant;
  /** One of its money accounts on the CDC topic (never the seeded CASH), archived. */
  archived: SimMoneyAccount;
  /** Every vendor's new name, in the order of `merchant.vendors`. */
  vendorNames: string[];
  /** Vendors deleted after their rename (with their new names), in the order of `merchant.vendors`. */
  deletedVendors: { id: string; name: string }[];
  /** An account row naming another merchant: an owner move that finance must refuse. */
  ownerMove: { account: SimMoneyAccount; to: string };
}

export interface WorldChanges {
  merchants: MerchantChanges[];
  /** Deleted last; only in data sets with more than a few merchants (null otherwise). */
  deletedMerchant: SimMerchant | null;
}

/**
 * A data set loses a merchant only from this many merchants on, so that the small data sets
 * tests build around one or two merchants keep them.
 */
export const MERCHANT_DELETE_MIN = 4;

/** Share of a merchant's vendors deleted (at least one). */
const VENDOR_DELETE_SHARE = 0.3;

/** The new code of a purchase order: the seller moved to its Vietnamese numbering (PN, phiếu nhập). */
export const recodedPurchaseOrder = (po: SimPurchaseOrder): string => `PN-${pad6(po.index + 1)}`;

/** The changes of a data set, from the seed and its merchants alone. */
export function planChanges(seed: number, merchants: readonly SimMerchant[]): WorldChanges {
  const rng = streamRng(seed, STREAM.changes, 0);
  const changes = merchants.map((m): MerchantChanges => {
    const onTopic = m.moneyAccounts.filter((a) => !a.seeded);
    const vendorNames = m.vendors.map((v) => rng.pick(VENDOR_NAMES.filter((n) => n !== v.name)));
    let deleted = m.vendors.map(() => rng.chance(VENDOR_DELETE_SHARE));
    if (!deleted.includes(true)) {
      const only = rng.int(0, m.vendors.length - 1);
      deleted = deleted.map((_, k) => k === only);
    }
    const other = merchants.length > 1 ? merchants[(m.index + 1) % merchants.length] : undefined;
    return {
      merchant: m,
      archived: rng.pick(onTopic),
      vendorNames,
      deletedVendors: m.vendors
        .map((v, k) => ({ id: v.id, name: vendorNames[k] as string }))
        .filter((_, k) => deleted[k]),
      // With one merchant, the move names a merchant finance never saw: refused all the same.
      ownerMove: { account: rng.pick(onTopic), to: other?.id ?? rng.uuid() },
    };
  });
  const last = merchants.at(-1);
  return {
    merchants: changes,
    deletedMerchant: merchants.length >= MERCHANT_DELETE_MIN && last ? last : null,
  };
}
