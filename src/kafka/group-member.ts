import type { Admin, Consumer, EachBatchPayload, KafkaMessage } from "kafkajs";
import { AbandonedError } from "../errors.js";
import { classify } from "../failures.js";
import type { Liveness } from "../liveness.js";
import type { Logger } from "../log.js";
import { LogRateLimit } from "../log-rate.js";
import type { Metrics } from "../metrics.js";
import { BACKOFF, type Backoff, Delays, retry } from "../retry.js";
import { followPositions, type Positions } from "./positions.js";
import { subscribeWhenServed, type TopicWatch, watchForTopics } from "./topic-presence.js";

/** One partition's batch as a handler sees it. */
export interface MemberBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** The offset after the batch's last record: what to commit once all of it is durable. */
  nextOffset: string;
}

/** What a handler may do while it holds a batch. */
export interface BatchLease {
  /**
   * Aborted when the member is about to lose its partitions (a rebalance is pending, its
   * generation is over) or stops: every wait of the handler ends, and the batch is given up.
   */
  signal: AbortSignal;
  /** Tells the group the member is alive; a pending rebalance aborts `signal` instead of throwing. */
  heartbeat: () => Promise<void>;
}

/**
 * The work of a member: one partition's batch in, the offset (exclusive) up to which the batch
 * is durable out — committed by the member — or null when there is nothing to commit.
 */
export type BatchHandler = (batch: MemberBatch, lease: BatchLease) => Promise<string | null>;

export interface GroupMemberOptions {
  /** The member's name in logs, metrics and /healthz ("topology", "sink", "tables", "redrive"). */
  name: string;
  groupId: string;
  /** The topics to consume (all of them exist). */
  topics: readonly string[];
  /** Topics to consume as well once they are created: the member joins again with them then. */
  late?: { topics: readonly string[]; admin: () => Admin; everyMs: number };
  /** A new kafkajs consumer of the group (one per life: a crashed one is never reused). */
  newConsumer: () => Consumer;
  handle: BatchHandler;
  /** Partitions worked on at once. */
  concurrency?: number;
  heartbeatIntervalMs: number;
  log: Logger;
  metrics: Metrics;
  liveness?: Liveness;
  positions?: Positions;
  /** Pause before a crashed consumer is replaced (default BACKOFF.memberRestart). */
  restart?: Backoff;
}

export type MemberState = "idle" | "starting" | "running" | "restarting" | "stopping" | "stopped" | "failed";

/**
 * One group generation as this member lives it: aborted when it is over for the member — a
 * heartbeat or commit said the group is rebalancing or has forgotten the member, its consumer
 * crashed, or the member stops — so that every batch of it lets go at once.
 */
class Generation {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  endedAt: number | null = null;

  end(reason: unknown): void {
    if (this.signal.aborted) return;
    this.endedAt = Date.now();
    this.controller.abort(reason);
  }
}

/**
 * The one consumer runtime of the project: a group member's whole life around a handler.
 *
 * - start: connect, subscribe (topics created later are added by joining again once they
 *   appear), run; `start()` resolves without waiting for the group join (readiness must not
 *   wait for a member killed moments ago to expire, SPEC §4).
 * - work: each batch goes to the handler with a lease; the member heartbeats while the handler
 *   works, retries the batch in place while an outage lasts (the partitions stay with it, so an
 *   outage costs no rebalance), and commits the offset the handler says is durable. This file
 *   is the only place where offsets are committed.
 * - rebalance: a heartbeat that finds the group rebalancing ends the generation: waits abort,
 *   what is durable is committed, and the batch is handed back to kafkajs with the group's own
 *   error so that it joins again at once instead of holding the partitions.
 * - crash: a crashed consumer is replaced after a backoff, whatever kafkajs would have done;
 *   only an `access` failure (credentials, authorization, certificates) is final: /healthz fails
 *   and the process exits to be looked at.
 * - stop: works in every state, idempotently; in-flight batches let go, the consumer leaves.
 */
export class GroupMember {
  private state: MemberState = "idle";
  private consumer: Consumer | null = null;
  private generation = new Generation();
  private topics: string[];
  private readonly delays: Delays;
  private restartTimer: NodeJS.Timeout | null = null;
  private lateWatch: TopicWatch | null = null;
  /** The latest launch of a consumer (start, restart, new topics): settles once it runs or failed. */
  private launching: Promise<void> = Promise.resolve();
  private readonly outages: LogRateLimit;

  constructor(private readonly o: GroupMemberOptions) {
    this.topics = [...o.topics];
    this.delays = new Delays(o.restart ?? BACKOFF.memberRestart);
    this.outages = new LogRateLimit(o.log, `${o.name}: batches waiting out an outage`, "warn");
  }

  get status(): MemberState {
    return this.state;
  }

  async start(): Promise<void> {
    if (this.state !== "idle") throw new Error(`${this.o.name} member already ${this.state}`);
    this.state = "starting";
    this.launching = this.launch();
    await this.launching;
    const late = this.o.late;
    if (late && late.topics.length > 0 && !this.stopped()) {
      this.lateWatch = watchForTopics(late.admin, late.topics, (t) => this.joinWith(t), {
        log: this.o.log,
        everyMs: late.everyMs,
      });
    }
  }

  /** Leaves the group for good: in-flight batches let go, a pending restart is cancelled. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopping";
    this.lateWatch?.stop();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.generation.end(new AbandonedError(`${this.o.name}: stopping`));
    // Disconnecting waits for the batches in flight, which let go at once (their signal is aborted).
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer) await leave(consumer);
    await this.launching;
    this.o.liveness?.forget(this.o.name);
    this.state = "stopped";
  }

  private stopped(): boolean {
    return this.state === "stopping" || this.state === "stopped";
  }

  /** A new consumer joins the group; a failure on the way is a crash like any other. */
  private async launch(): Promise<void> {
    // Nothing to consume yet (no topic exists): the first topic created brings the consumer.
    if (this.topics.length === 0) {
      this.state = "running";
      return;
    }
    const consumer = this.o.newConsumer();
    this.consumer = consumer;
    this.generation = new Generation();
    this.instrument(consumer);
    try {
      await consumer.connect();
      // A stop (or a new topic) came meanwhile and disconnected a consumer not connected yet.
      if (consumer !== this.consumer) return leave(consumer);
      await subscribeWhenServed(consumer, this.topics);
      if (consumer !== this.consumer) return leave(consumer);
      // Not awaited: run() resolves once the group is joined (see the class comment).
      consumer
        .run({
          autoCommit: false,
          partitionsConsumedConcurrently: this.o.concurrency ?? 1,
          eachBatch: (payload) => this.onBatch(consumer, payload),
        })
        .catch((e: unknown) => this.crashed(consumer, e));
      this.state = "running";
    } catch (e) {
      this.crashed(consumer, e);
    }
  }

  private instrument(consumer: Consumer): void {
    const { name, liveness, metrics } = this.o;
    liveness?.watch(consumer, name);
    followPositions(consumer, this.o.groupId, metrics, this.o.positions);
    const e = consumer.events;
    consumer.on(e.GROUP_JOIN, ({ payload }) => {
      if (consumer !== this.consumer) return;
      const previous = this.generation;
      if (previous.endedAt !== null) {
        metrics.rebalanceSeconds.observe({ member: name }, (Date.now() - previous.endedAt) / 1000);
      }
      this.generation = new Generation();
      this.delays.reset();
      this.o.log.info(
        { member: name, joinMs: payload.duration, partitions: assigned(payload.memberAssignment) },
        `${name}: joined the group`,
      );
    });
    // kafkajs never restarts a consumer of ours (see createConsumer): the member does.
    consumer.on(e.CRASH, ({ payload }) => this.crashed(consumer, payload.error));
  }

  /** Replaces a crashed consumer after a pause; an access failure is final. */
  private crashed(consumer: Consumer, error: unknown): void {
    if (consumer !== this.consumer || this.stopped()) return;
    this.consumer = null;
    this.generation.end(error);
    const failure = classify(error);
    const { name, log, metrics, liveness } = this.o;
    metrics.memberRestarts.inc({ member: name, class: failure });
    void leave(consumer);
    if (failure === "access") {
      this.state = "failed";
      log.error(
        { member: name, err: error },
        `${name}: the cluster refuses this consumer; an operator must act`,
      );
      liveness?.fail(name, error);
      return;
    }
    const delayMs = this.delays.take();
    this.state = "restarting";
    log.warn(
      { member: name, class: failure, delayMs, err: error },
      `${name}: consumer crashed; a new one joins the group after a pause`,
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopped()) return;
      this.launching = this.launch();
    }, delayMs);
  }

  /**
   * Topics created since the start: kafkajs cannot add a topic to a running consumer, so the
   * member lets go of what it holds (committed as it goes) and a new consumer joins with all of
   * them — one rebalance, once in the cluster's life.
   */
  private async joinWith(appeared: string[]): Promise<void> {
    if (this.stopped()) return;
    this.o.log.info(
      { member: this.o.name, topics: appeared },
      `${this.o.name}: topics created; joining again with them`,
    );
    this.topics = [...this.topics, ...appeared.filter((t) => !this.topics.includes(t))];
    await this.launching;
    if (this.restartTimer) return; // the restart already pending takes the new topics
    const consumer = this.consumer;
    this.consumer = null;
    this.generation.end(new AbandonedError(`${this.o.name}: joining again with new topics`));
    if (consumer) await leave(consumer);
    if (this.stopped()) return;
    this.launching = this.launch();
    await this.launching;
  }

  private async onBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const generation = this.generation;
    if (consumer !== this.consumer || generation.signal.aborted) throw letGo(generation);
    if (batch.messages.length === 0) return;
    const lease: BatchLease = {
      signal: generation.signal,
      heartbeat: () => this.heartbeat(payload, generation),
    };
    const view: MemberBatch = {
      topic: batch.topic,
      partition: batch.partition,
      messages: batch.messages,
      nextOffset: (BigInt(batch.lastOffset()) + 1n).toString(),
    };
    const timer = setInterval(() => void lease.heartbeat(), this.o.heartbeatIntervalMs);
    let durable: string | null;
    try {
      durable = await retry(() => this.o.handle(view, lease), {
        ...BACKOFF.batchOutage,
        retryIf: (e) => classify(e) === "outage",
        signal: generation.signal,
        onWait: async () => {
          if (this.outages.allow(batch.topic))
            this.o.log.warn(
              { member: this.o.name, topic: batch.topic, partition: batch.partition },
              `${this.o.name}: batch waits out an outage; its partition stays with this member`,
            );
          await lease.heartbeat();
        },
      });
    } catch (e) {
      if (generation.signal.aborted) throw letGo(generation);
      this.o.metrics.errors.inc({ stage: this.o.name, type: (e as Error).name });
      throw e; // a defect: kafkajs tries the batch again, then crashes, and the member restarts
    } finally {
      clearInterval(timer);
    }
    // Durable is durable: committed even when the generation is ending (the group still takes
    // commits of its current generation while it rebalances), so the next owner redoes less.
    if (durable !== null) {
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: durable }] }],
      });
    }
    if (generation.signal.aborted) throw letGo(generation);
  }

  /** A heartbeat that finds the generation over ends it, and the batches of it let go. */
  private async heartbeat(payload: EachBatchPayload, generation: Generation): Promise<void> {
    if (generation.signal.aborted) return;
    try {
      await payload.heartbeat();
    } catch (e) {
      if (classify(e) === "revoked") {
        this.o.log.info(
          { member: this.o.name, why: (e as Error).message },
          `${this.o.name}: letting go of its batches`,
        );
        generation.end(e);
      }
      // Anything else (an outage) the next fetch or commit finds, and kafkajs deals with it.
    }
  }
}

/** How many partitions an assignment holds. */
const assigned = (assignment: Record<string, number[]> | undefined): number =>
  Object.values(assignment ?? {}).reduce((n, partitions) => n + partitions.length, 0);

/** Disconnects, leaving the group; a consumer already gone (a crash, a dead broker) is fine. */
const leave = (consumer: Consumer): Promise<void> => consumer.disconnect().catch(() => undefined);

/**
 * What a batch of an ended generation throws to kafkajs: the group's own error, which makes
 * it join again at once (not a crash), or the abandonment by a stop.
 */
function letGo(generation: Generation): unknown {
  return generation.signal.reason ?? new AbandonedError("the generation is over");
}
