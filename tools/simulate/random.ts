/**
 * Randomness: mulberry32 streams. The data set draws from a few independent streams (one per
 * concern, see STREAM), and things derived from an index (a purchase order, a customer, a
 * product variant) get an Rng of their own from (seed, stream, index) alone, so they can be
 * regenerated anywhere without being kept.
 */

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)] as T;
  }
  /** A random (version 4 shaped) UUID. */
  uuid(): string {
    const a = this.u32();
    const b = ((this.u32() & 0xffff0fff) | 0x00004000) >>> 0;
    const c = ((this.u32() & 0x3fffffff) | 0x80000000) >>> 0;
    const d = this.u32();
    return `${hex8(a)}-${hex4(b >>> 16)}-${hex4(b & 0xffff)}-${hex4(c >>> 16)}-${hex4(c & 0xffff)}${hex8(d)}`;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const hex4 = (n: number) => (HEX[(n >>> 8) & 0xff] as string) + (HEX[n & 0xff] as string);
const hex8 = (n: number) => hex4(n >>> 16) + hex4(n & 0xffff);

export function mix32(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The independent random streams of a data set. */
export const STREAM = {
  merchants: 1,
  events: 2,
  purchaseOrder: 3,
  customer: 4,
  variant: 5,
  /** What changes in the seller database after the events (world/changes.ts). */
  changes: 6,
} as const;

/** The Rng of item `index` of `stream`, determined by (seed, stream, index) alone. */
export const streamRng = (seed: number, stream: number, index: number) =>
  new Rng(mix32(mix32(seed, stream), index));
