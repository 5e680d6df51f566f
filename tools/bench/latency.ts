import type { AckedRange } from "../simulate/publish.js";

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles; null for no values. */
export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return {
    n: sorted.length,
    p50: rank(50),
    p95: rank(95),
    p99: rank(99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

/** When the broker acknowledged each record, looked up by its place: offset ranges per partition. */
export class AckTimes {
  private readonly byPartition = new Map<string, { from: bigint; to: bigint; at: number }[]>();
  private sorted = true;

  add(ranges: readonly AckedRange[], at: number): void {
    for (const r of ranges) {
      const key = `${r.topic}:${r.partition}`;
      const list = this.byPartition.get(key) ?? [];
      list.push({ from: r.from, to: r.to, at });
      this.byPartition.set(key, list);
    }
    this.sorted = false;
  }

  /** The ack time of the record at topic:partition@offset, or null if it was not acknowledged here. */
  at(topic: string, partition: number, offset: bigint): number | null {
    if (!this.sorted) {
      // Requests in flight together may be acknowledged in any order.
      for (const list of this.byPartition.values()) list.sort((a, b) => (a.from < b.from ? -1 : 1));
      this.sorted = true;
    }
    const list = this.byPartition.get(`${topic}:${partition}`);
    if (!list) return null;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = list[mid] as { from: bigint; to: bigint; at: number };
      if (offset < r.from) hi = mid - 1;
      else if (offset >= r.to) lo = mid + 1;
      else return r.at;
    }
    return null;
  }
}

/** One latency: when its event was acknowledged, and how long its voucher took. */
export interface LatencySample {
  ackedAt: number;
  ms: number;
}

/**
 * The p99 of each of `windows` equal slices of the publishing time, in order: a tail from the
 * first seconds (consumers still joining) reads differently from one spread over the run.
 */
export function p99ByWindow(samples: readonly LatencySample[], windows: number): number[] {
  if (samples.length === 0 || windows < 1) return [];
  const { first, last } = publishingSpan(samples);
  const width = (last - first) / windows || 1;
  const slices: number[][] = Array.from({ length: windows }, () => []);
  for (const s of samples) slices[Math.min(windows - 1, Math.floor((s.ackedAt - first) / width))]?.push(s.ms);
  return slices.map((ms) => percentiles(ms)?.p99 ?? 0);
}

/** The publishing time the samples span: their first and last ack. */
export function publishingSpan(samples: readonly LatencySample[]): { first: number; last: number } {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const s of samples) [first, last] = [Math.min(first, s.ackedAt), Math.max(last, s.ackedAt)];
  return { first, last };
}
