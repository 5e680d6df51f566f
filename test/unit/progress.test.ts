import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, formatProgress } from "../../src/commands/progress.js";

describe("replay progress", () => {
  it("shows done/total, percentage, rate and ETA", () => {
    assert.equal(
      formatProgress(25_000, 100_000, 5_000),
      "25,000/100,000 events (25.0%) · 5,000 events/s · ETA 15s",
    );
  });
  it("has no ETA before anything is done, and none once finished", () => {
    assert.match(formatProgress(0, 10, 1_000), /ETA -$/);
    assert.match(formatProgress(10, 10, 1_000), /\(100\.0%\).*ETA -$/);
  });
  it("formats long durations in minutes and hours", () => {
    assert.equal(formatDuration(59_000), "59s");
    assert.equal(formatDuration(61_000), "1m01s");
    assert.equal(formatDuration(3_720_000), "1h02m");
  });
});
