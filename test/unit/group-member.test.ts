import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import kafkajs, { type Admin, type Consumer, type EachBatchPayload } from "kafkajs";
import { pino } from "pino";
import { AbandonedError, TransientInfraError } from "../../src/errors.js";
import { type BatchHandler, GroupMember, type GroupMemberOptions } from "../../src/kafka/group-member.js";
import { Liveness } from "../../src/liveness.js";
import { metrics } from "../support/metrics.js";

/**
 * The consumer runtime's state machine against a fake kafkajs consumer: what it commits, how an
 * outage, a rebalance, a crash and a stop in every state are handled.
 */
const EVENTS = {
  HEARTBEAT: "heartbeat",
  FETCH_START: "fetch_start",
  START_BATCH_PROCESS: "start_batch",
  END_BATCH_PROCESS: "end_batch",
  GROUP_JOIN: "group_join",
  CRASH: "crash",
};

type Commit = { topic: string; partition: number; offset: string };

class FakeConsumer {
  readonly events = EVENTS;
  readonly listeners = new Map<string, ((e: { payload: unknown }) => void)[]>();
  connected = false;
  disconnected = false;
  subscribed: string[] = [];
  eachBatch: ((p: EachBatchPayload) => Promise<void>) | null = null;
  readonly commits: Commit[] = [];
  /** What the next heartbeats throw (null: they pass). */
  heartbeatError: Error | null = null;
  private inFlight = new Set<Promise<unknown>>();

  constructor(private readonly connectGate: Promise<void> = Promise.resolve()) {}

  async connect() {
    await this.connectGate;
    if (this.disconnected) throw new Error("disconnected while connecting");
    this.connected = true;
  }

  async subscribe({ topics }: { topics: string[] }) {
    this.subscribed = [...topics];
  }

  async run({ eachBatch }: { eachBatch: (p: EachBatchPayload) => Promise<void> }) {
    this.eachBatch = eachBatch;
  }

  /** Like kafkajs: waits for the batches in flight, then leaves. */
  async disconnect() {
    this.disconnected = true;
    await Promise.allSettled([...this.inFlight]);
  }

  on(name: string, listener: (e: { payload: unknown }) => void) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
    return () => undefined;
  }

  emit(name: string, payload: unknown) {
    for (const l of this.listeners.get(name) ?? []) l({ payload });
  }

  /** Hands a batch of `n` records from `first` to the member, as kafkajs' runner would. */
  deliver(topic: string, partition: number, first: number, n = 2): Promise<void> {
    assert.ok(this.eachBatch, "run() was called");
    const messages = Array.from({ length: n }, (_, i) => ({
      offset: String(first + i),
      key: null,
      value: Buffer.from("x"),
      headers: {},
      timestamp: "0",
      attributes: 0,
    }));
    const payload = {
      batch: { topic, partition, messages, lastOffset: () => String(first + n - 1) },
      heartbeat: async () => {
        if (this.heartbeatError) throw this.heartbeatError;
      },
      commitOffsetsIfNecessary: async (offsets: {
        topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
      }) => {
        for (const t of offsets.topics)
          for (const p of t.partitions)
            this.commits.push({ topic: t.topic, partition: p.partition, offset: p.offset });
      },
    } as unknown as EachBatchPayload;
    const run = this.eachBatch(payload);
    this.inFlight.add(run);
    void run.catch(() => undefined).finally(() => this.inFlight.delete(run));
    return run;
  }
}

const silent = pino({ level: "silent" });

function member(handle: BatchHandler, extra: Partial<GroupMemberOptions> & { gates?: Promise<void>[] } = {}) {
  const consumers: FakeConsumer[] = [];
  const gates = extra.gates ?? [];
  const m = new GroupMember({
    name: "test",
    groupId: "g",
    topics: ["t"],
    newConsumer: () => {
      const c = new FakeConsumer(gates[consumers.length]);
      consumers.push(c);
      return c as unknown as Consumer;
    },
    handle,
    heartbeatIntervalMs: 20,
    log: silent,
    metrics,
    restart: { initialMs: 10, maxMs: 20 },
    ...extra,
  });
  return { m, consumers };
}

const rebalancing = () =>
  new kafkajs.KafkaJSProtocolError({
    message: "The group is rebalancing, so a rejoin is needed",
    type: "REBALANCE_IN_PROGRESS",
    code: 27,
    retriable: false,
  } as unknown as Error);

async function until(what: string, done: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("GroupMember: commits what the handler says is durable", () => {
  it("commits the offset the handler returns, and nothing for null", async () => {
    const { m, consumers } = member(async (batch) => (batch.partition === 0 ? batch.nextOffset : null));
    await m.start();
    const c = consumers[0] as FakeConsumer;
    assert.deepEqual(c.subscribed, ["t"]);
    await c.deliver("t", 0, 10);
    await c.deliver("t", 1, 5);
    assert.deepEqual(c.commits, [{ topic: "t", partition: 0, offset: "12" }]);
    await m.stop();
    assert.equal(m.status, "stopped");
  });

  it("tries a batch again in place while an outage lasts: no crash, no new consumer, committed once", async () => {
    let attempts = 0;
    const { m, consumers } = member(async (batch) => {
      attempts++;
      if (attempts < 3) throw new TransientInfraError("Postgres restarting");
      return batch.nextOffset;
    });
    await m.start();
    const c = consumers[0] as FakeConsumer;
    await c.deliver("t", 0, 0);
    assert.equal(attempts, 3);
    assert.deepEqual(c.commits, [{ topic: "t", partition: 0, offset: "2" }]);
    assert.equal(consumers.length, 1);
    await m.stop();
  });

  it("hands a defect back to kafkajs (which retries the batch, then crashes)", async () => {
    const { m, consumers } = member(async () => {
      throw new TypeError("a bug");
    });
    await m.start();
    const c = consumers[0] as FakeConsumer;
    await assert.rejects(c.deliver("t", 0, 0), TypeError);
    assert.deepEqual(c.commits, []);
    await m.stop();
  });
});

describe("GroupMember: a rebalance", () => {
  it("aborts the batch's waits when a heartbeat finds the group rebalancing, and hands kafkajs the group's error", async () => {
    const { m, consumers } = member(
      (_batch, lease) =>
        new Promise((_, reject) =>
          lease.signal.addEventListener("abort", () => reject(new AbandonedError("let go"))),
        ),
    );
    await m.start();
    const c = consumers[0] as FakeConsumer;
    const pending = c.deliver("t", 0, 0);
    await sleep(30);
    c.heartbeatError = rebalancing();
    const started = Date.now();
    const e = await pending.then(
      () => assert.fail("the batch should let go"),
      (err: unknown) => err,
    );
    assert.equal((e as { type?: string }).type, "REBALANCE_IN_PROGRESS");
    assert.ok(Date.now() - started < 500, "let go within a heartbeat or two");
    assert.deepEqual(c.commits, []);
    await m.stop();
  });

  it("still commits a batch that became durable while the generation ended", async () => {
    const { m, consumers } = member(async (batch, lease) => {
      await lease.heartbeat(); // finds the rebalance
      assert.ok(lease.signal.aborted);
      return batch.nextOffset;
    });
    await m.start();
    const c = consumers[0] as FakeConsumer;
    c.heartbeatError = rebalancing();
    await assert.rejects(c.deliver("t", 3, 7), (e: { type?: string }) => e.type === "REBALANCE_IN_PROGRESS");
    assert.deepEqual(c.commits, [{ topic: "t", partition: 3, offset: "9" }]);
    await m.stop();
  });

  it("starts a new generation at the next group join: batches of it work again", async () => {
    const { m, consumers } = member(async (batch, lease) => {
      await lease.heartbeat();
      return batch.nextOffset;
    });
    await m.start();
    const c = consumers[0] as FakeConsumer;
    c.heartbeatError = rebalancing();
    await assert.rejects(c.deliver("t", 0, 0));
    c.heartbeatError = null;
    await assert.rejects(c.deliver("t", 0, 0), "the old generation is over until the group is joined");
    c.emit(EVENTS.GROUP_JOIN, { duration: 5 });
    await c.deliver("t", 0, 0);
    assert.deepEqual(c.commits.at(-1), { topic: "t", partition: 0, offset: "2" });
    await m.stop();
  });
});

describe("GroupMember: a crash", () => {
  for (const [what, error] of [
    ["a retriable broker error", new kafkajs.KafkaJSConnectionError("Connection error: ECONNREFUSED")],
    [
      "an error kafkajs would not restart for (write after end)",
      Object.assign(new Error("write after end"), { code: "ERR_STREAM_WRITE_AFTER_END" }),
    ],
    ["a defect", new TypeError("undefined is not a function")],
  ] as const) {
    it(`replaces the consumer after ${what}`, async () => {
      const { m, consumers } = member(async (b) => b.nextOffset);
      await m.start();
      const first = consumers[0] as FakeConsumer;
      first.emit(EVENTS.CRASH, { error, restart: false });
      assert.equal(m.status, "restarting");
      await until("a new consumer", () => consumers.length === 2 && m.status === "running");
      assert.ok(first.disconnected);
      assert.deepEqual((consumers[1] as FakeConsumer).subscribed, ["t"]);
      await (consumers[1] as FakeConsumer).deliver("t", 0, 0);
      assert.equal((consumers[1] as FakeConsumer).commits.length, 1);
      await m.stop();
    });
  }

  it("replaces a consumer that cannot connect (the broker down), again and again, without exiting", async () => {
    const refused = () => Promise.reject(new kafkajs.KafkaJSConnectionError("ECONNREFUSED"));
    const gates = [refused(), refused(), refused()];
    for (const g of gates) g.catch(() => undefined);
    const dead: string[] = [];
    const liveness = new Liveness((why) => dead.push(why));
    const { m, consumers } = member(async (b) => b.nextOffset, { gates, liveness });
    await m.start();
    await until("the fourth consumer running", () => consumers.length === 4 && m.status === "running");
    assert.deepEqual(dead, []);
    assert.ok(liveness.live());
    await m.stop();
  });

  it("fails for good when the cluster refuses its credentials: /healthz fails, no restart", async () => {
    const dead: string[] = [];
    const liveness = new Liveness((why) => dead.push(why));
    const { m, consumers } = member(async (b) => b.nextOffset, { liveness });
    await m.start();
    (consumers[0] as FakeConsumer).emit(EVENTS.CRASH, {
      // (its typings take no message; kafkajs passes one)
      error: new (kafkajs.KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)(
        "SASL SCRAM SHA512 authentication failed",
      ),
      restart: false,
    });
    assert.equal(m.status, "failed");
    await sleep(50);
    assert.equal(consumers.length, 1);
    assert.equal(dead.length, 1);
    assert.equal(liveness.live(), false);
    await m.stop();
  });
});

describe("GroupMember: stop in every state", () => {
  it("before start, twice, and start after stop is refused", async () => {
    const { m, consumers } = member(async (b) => b.nextOffset);
    await m.stop();
    await m.stop();
    assert.equal(m.status, "stopped");
    await assert.rejects(m.start());
    assert.equal(consumers.length, 0);
  });

  it("while the consumer connects: the consumer is left, nothing runs", async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const { m, consumers } = member(async (b) => b.nextOffset, { gates: [gate] });
    const starting = m.start();
    await sleep(10);
    const stopping = m.stop();
    open();
    await Promise.all([starting.catch(() => undefined), stopping]);
    const c = consumers[0] as FakeConsumer;
    assert.ok(c.disconnected);
    assert.equal(c.eachBatch, null, "run() never called");
    assert.equal(m.status, "stopped");
  });

  it("while a restart is pending: no new consumer comes", async () => {
    const { m, consumers } = member(async (b) => b.nextOffset, { restart: { initialMs: 100, maxMs: 100 } });
    await m.start();
    (consumers[0] as FakeConsumer).emit(EVENTS.CRASH, { error: new Error("boom"), restart: false });
    assert.equal(m.status, "restarting");
    await m.stop();
    await sleep(150);
    assert.equal(consumers.length, 1);
    assert.equal(m.status, "stopped");
  });

  it("with a batch in flight waiting for references: it lets go, nothing is committed, stop returns", async () => {
    const { m, consumers } = member(
      (_b, lease) =>
        new Promise((_, reject) =>
          lease.signal.addEventListener("abort", () => reject(new AbandonedError("stopping"))),
        ),
    );
    await m.start();
    const c = consumers[0] as FakeConsumer;
    const pending = c.deliver("t", 0, 0);
    pending.catch(() => undefined);
    await sleep(20);
    const started = Date.now();
    await m.stop();
    assert.ok(Date.now() - started < 500);
    await assert.rejects(pending, AbandonedError);
    assert.deepEqual(c.commits, []);
    assert.ok(c.disconnected);
  });

  it("a crash after the stop is no restart", async () => {
    const { m, consumers } = member(async (b) => b.nextOffset);
    await m.start();
    const c = consumers[0] as FakeConsumer;
    await m.stop();
    c.emit(EVENTS.CRASH, { error: new Error("late"), restart: false });
    await sleep(50);
    assert.equal(consumers.length, 1);
    assert.equal(m.status, "stopped");
  });
});

describe("GroupMember: topics created later", () => {
  const adminListing = (topics: () => string[]) => () =>
    ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      listTopics: async () => topics(),
    }) as unknown as Admin;

  it("joins again with a topic once it exists", async () => {
    let listed = ["t"];
    const { m, consumers } = member(async (b) => b.nextOffset, {
      late: { topics: ["u"], admin: adminListing(() => listed), everyMs: 10 },
    });
    await m.start();
    assert.deepEqual((consumers[0] as FakeConsumer).subscribed, ["t"]);
    listed = ["t", "u"];
    await until("a consumer of both", () => consumers.length === 2 && m.status === "running");
    assert.ok((consumers[0] as FakeConsumer).disconnected);
    assert.deepEqual((consumers[1] as FakeConsumer).subscribed, ["t", "u"]);
    await m.stop();
  });

  it("with no topic at all, has no consumer until the first one is created", async () => {
    let listed: string[] = [];
    const { m, consumers } = member(async (b) => b.nextOffset, {
      topics: [],
      late: { topics: ["t"], admin: adminListing(() => listed), everyMs: 10 },
    });
    await m.start();
    assert.equal(consumers.length, 0);
    listed = ["t"];
    await until("a consumer", () => consumers.length === 1 && m.status === "running");
    assert.deepEqual((consumers[0] as FakeConsumer).subscribed, ["t"]);
    await m.stop();
  });
});
