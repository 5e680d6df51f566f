import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientFloorLines } from "../../tools/bench/floor.js";

describe("bench: the client's floor (three bare passes through kafkajs)", () => {
  const floor = {
    source: { records: 10_000, seconds: 0.5, cpuSeconds: 0.06 },
    produce: { records: 12_000, seconds: 1, cpuSeconds: 0.08 },
    fetch: { records: 12_000, seconds: 0.4, cpuSeconds: 0.06 },
  };

  it("prints each pass and their sum per 1,000 events, and the pipeline as a multiple of it", () => {
    const lines = clientFloorLines(floor, 10_000, 1.4);
    assert.match(lines[0] ?? "", /client floor .*CPU s per 1,000 events\s+0\.020$/);
    assert.match(lines[1] ?? "", /source fetch \+ decode\s+0\.006 {2}\(10,000 records, 20,000\/s\)/);
    assert.match(lines[2] ?? "", /voucher produce \(acks all\)\s+0\.008 {2}\(12,000 records, 12,000\/s\)/);
    assert.match(lines[3] ?? "", /voucher fetch \+ decode\s+0\.006 {2}\(12,000 records, 30,000\/s\)/);
    assert.equal(lines[4], "  pipeline = 7.0× the client floor (CPU per event)");
    assert.equal(lines.length, 5);
  });

  it("leaves the multiple out where the pipeline's CPU could not be read", () => {
    const lines = clientFloorLines(floor, 10_000, null);
    assert.equal(lines.length, 4);
    assert.ok(!lines.some((l) => l.includes("×")));
  });
});
