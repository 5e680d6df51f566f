import { setFlagsFromString } from "node:v8";

/**
 * Bounds how far V8 grows the heap past its live data (SPEC §8: memory bounded at any volume).
 * Under replay's allocation rate V8's own policy grows the heap up to 4× the live data, and a
 * topology holding ~150 MiB live peaked near 500 MiB; at 100% it stayed under 400 MiB for a
 * few percent of CPU (BENCHMARKS.md). V8 reads the flag at every collection, so setting it once
 * the process runs takes effect; 0 leaves V8's policy, or a `--heap-growing-percent` given to node.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
