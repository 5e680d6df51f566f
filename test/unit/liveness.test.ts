import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import type { Consumer } from "kafkajs";
import { Liveness } from "../../src/liveness.js";

const EVENTS = {
  HEARTBEAT: "consumer.heartbeat",
  FETCH_START: "consumer.fetch_start",
  START_BATCH_PROCESS: "consumer.start_batch_process",
  END_BATCH_PROCESS: "consumer.end_batch_process",
  GROUP_JOIN: "consumer.group_join",
};

/** The part of a kafkajs consumer Liveness listens to: its instrumentation events. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const consumer = {
    events: EVENTS,
    on: (event: string, listener: (e: unknown) => void) => emitter.on(event, listener),
  } as unknown as Consumer;
  return { consumer, emit: (event: string, payload: unknown = {}) => emitter.emit(event, { payload }) };
}

describe("liveness (/healthz)", () => {
  it("is live while watched consumers show signs of life", () => {
    let now = 0;
    const l = new Liveness(
      () => {},
      1_000,
      () => now,
    );
    const c = fakeConsumer();
    l.watch(c.consumer, "sink");
    now = 900;
    c.emit(EVENTS.HEARTBEAT);
    now = 1_800;
    assert.equal(l.live(), true);
  });

  it("fails when a consumer's loop has been silent too long (stuck)", () => {
    let now = 0;
    const l = new Liveness(
      () => {},
      1_000,
      () => now,
    );
    l.watch(fakeConsumer().consumer, "topology");
    now = 1_001;
    assert.deepEqual(l.problems(), ["topology silent for 1 s"]);
  });

  it("fails, and reports the death, when a member fails for good", () => {
    const deaths: string[] = [];
    const l = new Liveness((why) => deaths.push(why));
    const c = fakeConsumer();
    l.watch(c.consumer, "topology");
    l.fail("topology", new Error("group authorization failed"));
    assert.equal(l.live(), false);
    assert.deepEqual(deaths, ["consumer topology failed: group authorization failed"]);
  });

  it("follows the member's newest consumer only: signs of a replaced one do not count", () => {
    let now = 0;
    const l = new Liveness(
      () => {},
      1_000,
      () => now,
    );
    const old = fakeConsumer();
    l.watch(old.consumer, "sink");
    now = 500;
    const replacement = fakeConsumer();
    l.watch(replacement.consumer, "sink");
    now = 1_400;
    old.emit(EVENTS.HEARTBEAT);
    now = 1_600;
    assert.deepEqual(l.problems(), ["sink silent for 1 s"]);
  });

  it("does not count a member stopped cleanly", () => {
    let now = 0;
    const l = new Liveness(
      () => {},
      1_000,
      () => now,
    );
    const c = fakeConsumer();
    l.watch(c.consumer, "sink");
    l.forget("sink");
    now = 10_000;
    assert.equal(l.live(), true);
  });
});
