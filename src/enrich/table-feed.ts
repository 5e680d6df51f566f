import { randomUUID } from "node:crypto";
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { AvroCodec } from "../avro/codec.js";
import { createConsumer, disconnectForGood } from "../kafka/client.js";
import { endOffsets } from "../kafka/offsets.js";
import { followPositions, Positions } from "../kafka/positions.js";
import {
  presentTopics,
  subscribeWhenServed,
  type TopicWatch,
  watchForTopics,
} from "../kafka/topic-presence.js";
import type { Liveness } from "../liveness.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { ALL_CDC_TOPICS, type CdcTopic } from "../topics.js";
import { applyCdc, type CdcRecord, type DebeziumEnvelope } from "./cdc.js";
import type { MaterializedTables } from "./tables.js";

/**
 * Feeds the materialized tables from the CDC topics. Every instance reads every partition
 * (a group of its own, never committed), loads up to the end offsets that existed at start
 * before `start()` resolves, then keeps following. Once stopped it stays stopped.
 */
export class TableFeed {
  private consumer: Consumer | null = null;
  private readonly groupId: string;
  /** CDC topics created after the start, each set followed by a consumer of its own. */
  private readonly late: { consumer: Consumer; groupId: string }[] = [];
  private watch: TopicWatch | null = null;
  /** Aborted by stop(), so that a load still under way stops waiting. */
  private readonly stopping = new AbortController();
  /** Resolves on stop(), whenever start() comes to wait for it. */
  private readonly stopped = new Promise<void>((resolve) =>
    this.stopping.signal.addEventListener("abort", () => resolve(), { once: true }),
  );

  constructor(
    private readonly kafka: Kafka,
    private readonly codec: AvroCodec,
    private readonly tables: MaterializedTables,
    groupPrefix: (instance: string) => string,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly liveness?: Liveness,
    /** How often CDC topics missing at the start are looked for. */
    private readonly lateTopicPollMs = 10_000,
  ) {
    this.groupId = groupPrefix(randomUUID());
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const topics = await presentTopics(admin, ALL_CDC_TOPICS);
    const missing = ALL_CDC_TOPICS.filter((t) => !topics.includes(t));
    if (missing.length > 0) {
      this.log.warn(
        { missing },
        "CDC topics not found; their tables start empty and follow them once created",
      );
    }
    const ends = await endOffsets(admin, topics);
    await admin.disconnect();

    const started = Date.now();
    const positions = new Positions();
    if (this.stopping.signal.aborted) return;

    this.consumer = createConsumer(this.kafka, this.groupId);
    followPositions(this.consumer, this.groupId, this.metrics, positions);
    this.liveness?.watch(this.consumer, "tables");
    const consumer = this.consumer;
    await consumer.connect();
    // Stopped meanwhile: stop() may have come before there was a consumer to stop, or while it connected.
    if (this.stopping.signal.aborted) {
      if (this.consumer === consumer) return this.stop();
      return disconnectForGood(consumer);
    }
    if (topics.length > 0) await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    if (this.stopping.signal.aborted) return;
    try {
      await consumer.run({
        autoCommit: false,
        eachBatch: (payload) => this.applyBatch(payload),
      });
    } catch (e) {
      if (this.stopping.signal.aborted) return; // stopped while joining
      throw e;
    }
    await Promise.race([positions.reached(ends), this.stopped]);
    if (this.stopping.signal.aborted) return;
    this.log.info({ ms: Date.now() - started, ...this.tables.sizes }, "materialized tables loaded");
    if (missing.length > 0) {
      this.watch = watchForTopics(
        () => this.kafka.admin(),
        missing,
        (t) => this.follow(t),
        {
          log: this.log,
          everyMs: this.lateTopicPollMs,
        },
      );
    }
  }

  /**
   * CDC topics created after the start (a new cluster where Debezium came later): a consumer of
   * their own, from the beginning, so the tables learn their rows without a restart.
   */
  private async follow(topics: string[]): Promise<void> {
    if (this.stopping.signal.aborted) return;
    const groupId = `${this.groupId}-${this.late.length + 1}`;
    const consumer = createConsumer(this.kafka, groupId);
    const entry = { consumer, groupId };
    this.late.push(entry);
    try {
      await consumer.connect();
      // stop() came meanwhile: it may have disconnected a consumer that was not connected yet.
      if (this.stopping.signal.aborted) return disconnectForGood(consumer);
      this.liveness?.watch(consumer, `tables (${topics.join(", ")})`);
      await subscribeWhenServed(consumer, topics);
      await consumer.run({ autoCommit: false, eachBatch: (payload) => this.applyBatch(payload) });
    } catch (e) {
      this.late.splice(this.late.indexOf(entry), 1);
      await disconnectForGood(consumer).catch(() => undefined);
      throw e;
    }
    this.log.info({ topics }, "CDC topics found: their tables follow them now");
  }

  /** Stops following; a start still loading the tables returns at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.watch?.stop();
    const consumers = [
      ...(this.consumer ? [{ consumer: this.consumer, groupId: this.groupId }] : []),
      ...this.late,
    ];
    this.consumer = null;
    this.late.length = 0;
    if (consumers.length === 0) return;
    await Promise.all(consumers.map(({ consumer }) => disconnectForGood(consumer)));
    // The groups existed only for this instance's full reads; leave no litter on the cluster.
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteGroups(consumers.map(({ groupId }) => groupId)).catch(() => undefined);
    await admin.disconnect();
  }

  private async applyBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const topic = batch.topic as CdcTopic;
    await this.codec.prepare(batch.messages.flatMap((m) => [m.key, m.value]));
    const refused: { offset: string; error: Error }[] = [];
    for (const m of batch.messages) {
      try {
        const rec: CdcRecord = {
          topic,
          key: m.key ? this.codec.decode<{ id: string }>(m.key) : null,
          value: m.value ? this.codec.decode<DebeziumEnvelope>(m.value) : null,
        };
        const outcome = applyCdc(this.tables, rec, this.log);
        if (outcome.kind === "ignored")
          this.log.debug({ topic, offset: m.offset, why: outcome.why }, "CDC record ignored");
      } catch (e) {
        // A broken CDC row cannot be dead-lettered as an event; events needing it end UNRESOLVED.
        this.metrics.errors.inc({ stage: "cdc", type: (e as Error).name });
        refused.push({ offset: m.offset, error: e as Error });
      }
    }
    // One line per batch: a history of rows nobody can decode (schemas lost by the registry)
    // would otherwise log a stack trace per row on every start.
    const [first, last] = [refused[0], refused.at(-1)];
    if (first && last) {
      this.log.error(
        {
          topic,
          partition: batch.partition,
          count: refused.length,
          offsets: [first.offset, last.offset],
          err: first.error,
        },
        "CDC records not applied",
      );
    }
    await heartbeat();
  }
}
