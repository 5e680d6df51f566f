import { STREAM, streamRng } from "../random.js";
import { FAMILY, GIVEN, MIDDLE } from "./names.js";

/** Named customers per merchant. */
export const CUSTOMERS_PER_MERCHANT = 200;

/** Customer `k` (0 ≤ k < CUSTOMERS_PER_MERCHANT) of a merchant, always the same for a seed. */
export function customerAt(seed: number, merchantIndex: number, k: number): { id: string; name: string } {
  const rng = streamRng(seed, STREAM.customer, merchantIndex * CUSTOMERS_PER_MERCHANT + k);
  return { id: rng.uuid(), name: `${rng.pick(FAMILY)} ${rng.pick(MIDDLE)} ${rng.pick(GIVEN)}` };
}
