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
  CRASH: "consumer.crash",
  STOP: "consumer.stop",
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

  it("fails, and reports the death, when a consumer crashed and kafkajs will not restart it", () => {
    const deaths: string[] = [];
    const l = new Liveness((why) => deaths.push(why));
    const c = fakeConsumer();
    l.watch(c.consumer, "topology");
    c.emit(EVENTS.CRASH, { error: new Error("a restarting crash"), restart: true });
    assert.equal(l.live(), true, "kafkajs restarts it: still alive");
    c.emit(EVENTS.CRASH, { error: new Error("group authorization failed"), restart: false });
    assert.equal(l.live(), false);
    assert.deepEqual(deaths, ["consumer topology crashed and will not restart: group authorization failed"]);
  });

  it("does not count a consumer stopped cleanly", () => {
    let now = 0;
    const l = new Liveness(
      () => {},
      1_000,
      () => now,
    );
    const c = fakeConsumer();
    l.watch(c.consumer, "sink");
    c.emit(EVENTS.STOP);
    now = 10_000;
    assert.equal(l.live(), true);
  });
});
