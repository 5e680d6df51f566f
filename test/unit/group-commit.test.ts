import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { GroupCommit } from "../../src/sinks/group-commit.js";

describe("group commit", () => {
  it("flushes at once when the batch size is reached, in one flush for all callers", async () => {
    const flushes: number[][] = [];
    const gc = new GroupCommit<number>(4, 60_000, async (items) => {
      flushes.push(items);
    });
    await Promise.all([gc.add([1, 2]), gc.add([3, 4])]);
    assert.deepEqual(flushes, [[1, 2, 3, 4]]);
  });

  it("flushes after the linger time when the batch stays small", async () => {
    const flushes: number[][] = [];
    const gc = new GroupCommit<number>(1000, 20, async (items) => {
      flushes.push(items);
    });
    const started = Date.now();
    await gc.add([1]);
    assert.deepEqual(flushes, [[1]]);
    assert.ok(Date.now() - started >= 15);
  });

  it("resolves a caller only after its flush has completed, never before", async () => {
    let committed = false;
    const gc = new GroupCommit<number>(1, 0, async () => {
      await sleep(20);
      committed = true;
    });
    await gc.add([1]);
    assert.equal(committed, true);
  });

  it("gathers what arrives during a flush into the next one", async () => {
    const flushes: number[][] = [];
    let release: () => void = () => {};
    const gc = new GroupCommit<number>(1000, 0, async (items) => {
      flushes.push(items);
      if (flushes.length === 1)
        await new Promise<void>((r) => {
          release = r;
        });
    });
    const first = gc.add([1]);
    await sleep(5);
    const later = [gc.add([2]), gc.add([3]), gc.add([4])];
    release();
    await Promise.all([first, ...later]);
    assert.deepEqual(flushes, [[1], [2, 3, 4]]);
  });

  it("runs up to maxInFlight flushes at once, and resolves each caller with its own flush", async () => {
    const started: number[][] = [];
    const release = new Map<number, () => void>();
    const gc = new GroupCommit<number>(
      1,
      0,
      async (items) => {
        started.push(items);
        await new Promise<void>((r) => release.set(items[0] as number, r));
      },
      2,
    );
    const resolved: number[] = [];
    const adds = [1, 2, 3].map((n) => gc.add([n]).then(() => resolved.push(n)));
    await sleep(5);
    assert.deepEqual(started, [[1], [2]], "two flushes in flight, the third waits");
    release.get(2)?.();
    await sleep(5);
    assert.deepEqual(resolved, [2], "the second flush's caller resolves without waiting for the first");
    assert.deepEqual(started, [[1], [2], [3]], "a freed slot takes what waited");
    release.get(1)?.();
    release.get(3)?.();
    await Promise.all(adds);
    assert.deepEqual(resolved, [2, 1, 3]);
  });

  it("drains everything gathered", async () => {
    const flushed: number[] = [];
    const gc = new GroupCommit<number>(1000, 60_000, async (items) => {
      flushed.push(...items);
    });
    const pending = gc.add([1, 2]);
    await gc.drain();
    await pending;
    assert.deepEqual(flushed, [1, 2]);
  });

  it("runs flushes one at a time, in order", async () => {
    const events: string[] = [];
    const gc = new GroupCommit<number>(1, 0, async (items) => {
      events.push(`start ${items[0]}`);
      await sleep(10);
      events.push(`end ${items[0]}`);
    });
    await Promise.all([gc.add([1]), gc.add([2])]);
    assert.deepEqual(events, ["start 1", "end 1", "start 2", "end 2"]);
  });

  it("rejects the callers of a failed flush and keeps serving later ones", async () => {
    let fail = true;
    const gc = new GroupCommit<number>(1, 0, async () => {
      if (fail) throw new Error("database down");
    });
    await assert.rejects(gc.add([1]), /database down/);
    fail = false;
    await gc.add([2]);
  });
});
