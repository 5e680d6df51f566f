import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { LogRateLimit } from "../../src/log-rate.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe("bad records logged one by one up to a rate (issue 20 item 9)", () => {
  it("lets the first lines of each kind through in a window, then counts, and sums up when the window ends", () => {
    let now = 1_000;
    const { log, lines } = capture();
    const limit = new LogRateLimit(log, "events dead-lettered", "warn", 3, 10_000, () => now);
    const allowed = Array.from({ length: 1_000 }, () => limit.allow("UNDECODABLE"));
    assert.equal(allowed.filter(Boolean).length, 3);
    assert.equal(limit.allow("INVALID_PAYLOAD"), true, "each kind has its own allowance");
    assert.equal(lines.length, 0, "the summary waits for the window's end");
    now += 10_000;
    assert.equal(limit.allow("UNDECODABLE"), true, "a new window lets lines through again");
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0]?.suppressed, { UNDECODABLE: 997 });
    assert.equal(lines[0]?.level, 40);
  });

  it("says the summary when the window ends even if no record comes after it", async () => {
    const { log, lines } = capture();
    const limit = new LogRateLimit(log, "CDC rows refused", "error", 1, 50);
    limit.allow("vendor OWNER_CHANGED");
    limit.allow("vendor OWNER_CHANGED");
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0]?.suppressed, { "vendor OWNER_CHANGED": 1 });
    assert.equal(lines[0]?.level, 50);
  });
});
