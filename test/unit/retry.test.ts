import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TransientInfraError } from "../../src/errors.js";
import { retry } from "../../src/retry.js";

class Passing extends Error {}

describe("the retry policy", () => {
  it("retries what may pass, with growing waits, until it succeeds", async () => {
    let n = 0;
    const waits: number[] = [];
    let last = Date.now();
    const out = await retry(
      () => {
        waits.push(Date.now() - last);
        last = Date.now();
        if (++n < 4) throw new Passing();
        return "ok";
      },
      { initialMs: 20, maxMs: 1_000, retryIf: (e) => e instanceof Passing },
    );
    assert.equal(out, "ok");
    assert.equal(n, 4);
    assert.ok((waits[3] ?? 0) >= (waits[1] ?? 0), `waits grow: ${waits.join(", ")}`);
  });

  it("does not retry what will not pass", async () => {
    let n = 0;
    await assert.rejects(
      retry(
        () => {
          n++;
          throw new RangeError("final");
        },
        { initialMs: 1, maxMs: 1, retryIf: (e) => e instanceof Passing },
      ),
      RangeError,
    );
    assert.equal(n, 1);
  });

  it("stops after the attempts, with the last error", async () => {
    let n = 0;
    const fail = () => {
      n++;
      throw new Passing(`attempt ${n}`);
    };
    await assert.rejects(
      retry(fail, { initialMs: 1, maxMs: 1, attempts: 3, retryIf: () => true }),
      /attempt 3/,
    );
  });

  it("stops at the deadline, calling onWait before each wait", async () => {
    let beats = 0;
    const started = Date.now();
    const fail = () => {
      throw new Passing();
    };
    await assert.rejects(
      retry(fail, {
        initialMs: 10,
        maxMs: 40,
        deadlineMs: 150,
        retryIf: () => true,
        onWait: async () => {
          beats++;
        },
      }),
      Passing,
    );
    const took = Date.now() - started;
    assert.ok(took >= 140 && took < 1_000, `took ${took} ms`);
    assert.ok(beats >= 3);
  });

  it("fails as transient at once when aborted while waiting: the work was not given its time", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const started = Date.now();
    const fail = () => {
      throw new Passing();
    };
    await assert.rejects(
      retry(fail, {
        initialMs: 10_000,
        maxMs: 10_000,
        deadlineMs: 60_000,
        retryIf: () => true,
        signal: abort.signal,
      }),
      TransientInfraError,
    );
    assert.ok(Date.now() - started < 1_000);
  });
});
