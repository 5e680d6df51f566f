import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { heartbeatWhile } from "../../src/kafka/client.js";

describe("heartbeats during a long batch", () => {
  it("heartbeats every interval while the work runs, and stops after it", async () => {
    let beats = 0;
    const out = await heartbeatWhile(
      async () => {
        beats++;
      },
      20,
      async () => {
        await sleep(150);
        return "done";
      },
    );
    assert.equal(out, "done");
    assert.ok(beats >= 4, `${beats} heartbeats in 150 ms at 20 ms`);
    const after = beats;
    await sleep(60);
    assert.equal(beats, after, "no heartbeat once the batch is done");
  });

  it("leaves a refused heartbeat (a rebalance under way) to the batch, and passes the work's error on", async () => {
    await assert.rejects(
      heartbeatWhile(
        () => Promise.reject(new Error("REBALANCE_IN_PROGRESS")),
        10,
        async () => {
          await sleep(50);
          throw new RangeError("the batch's own failure");
        },
      ),
      RangeError,
    );
  });
});
