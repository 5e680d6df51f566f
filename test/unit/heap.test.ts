import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";

const peakHeap = (percent: number): number => {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", "test/support/heap-churn.ts", String(percent)],
    {
      encoding: "utf8",
    },
  );
  return (JSON.parse(out) as { peak: number }).peak;
};

describe("HEAP_GROWTH_PERCENT", () => {
  it("holds the heap closer to the live data than V8's own policy does, in a process already running", () => {
    const v8Policy = peakHeap(0);
    const limited = peakHeap(10);
    assert.ok(
      limited < v8Policy * 0.75,
      `peak heap ${(limited / 2 ** 20).toFixed(0)} MiB with the limit, ${(v8Policy / 2 ** 20).toFixed(0)} MiB without`,
    );
  });
});
