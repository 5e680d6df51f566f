import { seededAccountId } from "../../../src/ids.js";
import type { ResolvedDatasetOptions } from "../options.js";
import { STREAM, streamRng } from "../random.js";
import { BANKS, SHOP_KINDS, SHOP_NAMES, VENDOR_NAMES, WALLETS } from "./names.js";

export type MoneyAccountKind = "CASH" | "BANK" | "EWALLET";

export interface SimMoneyAccount {
  id: string;
  code: string;
  name: string;
  kind: MoneyAccountKind;
  /** true for the seeded CASH account (finance creates it; it is not on the account CDC topic). */
  seeded: boolean;
}

export interface SimMerchant {
  index: number;
  id: string;
  name: string;
  createdAt: string;
  /** Every money account of the merchant: the seeded CASH first, then the CDC'd ones. */
  moneyAccounts: SimMoneyAccount[];
  vendors: { id: string; name: string }[];
}

/** The merchants of a data set, with their money accounts and vendors. */
export function buildMerchants(o: ResolvedDatasetOptions): SimMerchant[] {
  const rng = streamRng(o.seed, STREAM.merchants, 0);
  const out: SimMerchant[] = [];
  for (let i = 0; i < o.merchants; i++) {
    const id = rng.uuid();
    const name = `${rng.pick(SHOP_KINDS)} ${rng.pick(SHOP_NAMES)} #${i + 1}`;
    const createdAt = new Date(o.start - 86_400_000 * rng.int(30, 900)).toISOString();
    const moneyAccounts: SimMoneyAccount[] = [
      { id: seededAccountId(id, "CASH"), code: "CASH", name: "Cash", kind: "CASH", seeded: true },
    ];
    if (rng.chance(0.2)) {
      moneyAccounts.push({
        id: rng.uuid(),
        code: "CASH_2",
        name: "Quầy thu ngân 2",
        kind: "CASH",
        seeded: false,
      });
    }
    const banks = rng.chance(0.35) ? 2 : 1;
    for (let b = 1; b <= banks; b++) {
      moneyAccounts.push({
        id: rng.uuid(),
        code: `BANK_${b}`,
        name: rng.pick(BANKS),
        kind: "BANK",
        seeded: false,
      });
    }
    if (rng.chance(0.6)) {
      moneyAccounts.push({
        id: rng.uuid(),
        code: "EWALLET_1",
        name: rng.pick(WALLETS),
        kind: "EWALLET",
        seeded: false,
      });
    }
    const vendors = Array.from({ length: rng.int(3, 8) }, () => ({
      id: rng.uuid(),
      name: rng.pick(VENDOR_NAMES),
    }));
    out.push({ index: i, id, name, createdAt, moneyAccounts, vendors });
  }
  return out;
}

/** Picks a merchant's index from a uniform number in [0, 1). */
export type MerchantPicker = (u: number) => number;

/** Zipf-like merchant weights: a few big merchants, a long tail. */
export function merchantPicker(count: number): MerchantPicker {
  const cum = new Float64Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    total += 1 / (i + 1) ** 0.7;
    cum[i] = total;
  }
  return (u) => {
    const x = u * total;
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cum[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}
