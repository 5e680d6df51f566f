import { STREAM, streamRng } from "../random.js";

/** Product variants per merchant. */
export const VARIANTS_PER_MERCHANT = 500;

/** The id of product variant `k` (0 ≤ k < VARIANTS_PER_MERCHANT) of a merchant, always the same for a seed. */
export function variantIdAt(seed: number, merchantIndex: number, k: number): string {
  return streamRng(seed, STREAM.variant, merchantIndex * VARIANTS_PER_MERCHANT + k).uuid();
}
