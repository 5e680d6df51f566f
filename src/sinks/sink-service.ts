import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { AvroCodec } from "../avro/codec.js";
import { type Config, groups } from "../config.js";
import { deadLetterAt, dlqRecord, type SourceRecord } from "../deadletter/records.js";
import type { Voucher } from "../domain/voucher.js";
import { accountsToPersist, type DebeziumEnvelope } from "../enrich/cdc.js";
import {
  createConsumer,
  disconnectForGood,
  ensureTopics,
  heartbeatWhile,
  sinkConsumerSettings,
} from "../kafka/client.js";
import { followPositions, Positions } from "../kafka/positions.js";
import {
  presentTopics,
  subscribeWhenServed,
  type TopicWatch,
  watchForTopics,
} from "../kafka/topic-presence.js";
import type { Liveness } from "../liveness.js";
import type { Logger } from "../log.js";
import { LogRateLimit } from "../log-rate.js";
import type { Metrics } from "../metrics.js";
import { CDC_TOPICS, type CdcTopic, DLQ_TOPIC, OUTPUT_TOPICS, VOUCHER_TOPIC } from "../topics.js";
import type { AccountWriteMode } from "./account-writer.js";
import { GroupCommit } from "./group-commit.js";
import { type FlushOutcome, flushSinkWork, type SinkWork } from "./sink-flush.js";

/** The sink's topics: vouchers and dead letters to book, merchants and accounts to keep finance.account whole. */
export const SINK_TOPICS = [
  VOUCHER_TOPIC,
  DLQ_TOPIC,
  CDC_TOPICS.merchant,
  CDC_TOPICS.financeAccount,
] as const;

export interface SinkServiceOptions {
  config: Config;
  kafka: Kafka;
  codec: AvroCodec;
  pool: Pool;
  log: Logger;
  metrics: Metrics;
  /** Watches the consumer for /healthz. */
  liveness?: Liveness;
  /**
   * Called after each flush has committed in Postgres and before any offset commit, with the
   * vouchers it held and what it booked (the replay summary; fault injection in tests).
   */
  onFlush?: (vouchers: number, outcome: FlushOutcome) => void;
  /** How often a sink topic missing at the start is looked for (default 10 s). */
  lateTopicPollMs?: number;
}

/**
 * Books vouchers, dead letters and accounts into Postgres in batches gathered across
 * partitions; a partition's offsets are committed only after the flush holding its records
 * has committed. A record Postgres refuses for its content is dead-lettered, not retried.
 */
export class SinkService {
  private consumer: Consumer | null = null;
  private stopped = false;
  private lateTopics: TopicWatch | null = null;
  private readonly groupCommit: GroupCommit<SinkWork>;
  private readonly positions = new Positions();
  /** Records the sink cannot read, or Postgres refuses: logged one by one up to a rate. */
  private readonly undecodable: LogRateLimit;
  private readonly refused: LogRateLimit;

  constructor(private readonly options: SinkServiceOptions) {
    this.undecodable = new LogRateLimit(options.log, "sink records undecodable", "error");
    this.refused = new LogRateLimit(options.log, "sink records refused by Postgres", "error");
    this.groupCommit = new GroupCommit(
      options.config.SINK_BATCH_SIZE,
      options.config.SINK_LINGER_MS,
      (work) => this.flush(work),
      options.config.SINK_FLUSHES_IN_FLIGHT,
    );
  }

  async start(): Promise<void> {
    const group = groups(this.options.config).sink;
    const consumer = createConsumer(this.options.kafka, group, sinkConsumerSettings(this.options.config));
    this.consumer = consumer;
    this.options.liveness?.watch(consumer, "sink");
    followPositions(consumer, group, this.options.metrics, this.positions);
    await consumer.connect();
    // A stop during connect() disconnected a consumer that was not connected yet.
    if (this.consumer !== consumer) return disconnectForGood(consumer);
    const admin = this.options.kafka.admin();
    await admin.connect();
    // The sink may start before the topology has created its topics (a new cluster).
    await ensureTopics(admin, OUTPUT_TOPICS);
    const topics = await presentTopics(admin, SINK_TOPICS);
    await admin.disconnect();
    // Stopped while starting (a shutdown right after start): stay stopped.
    if (this.consumer !== consumer) return;
    const missing = SINK_TOPICS.filter((t) => !topics.includes(t));
    if (missing.length > 0) this.followLateTopics(missing);
    await subscribeWhenServed(consumer, topics);
    if (this.consumer !== consumer) return;
    // Not awaited, as in the topology: readiness does not wait for the group join.
    const running = consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.options.config.PARTITIONS_CONSUMED_CONCURRENTLY,
      eachBatch: (payload) => this.onBatch(payload),
    });
    running.catch((e: unknown) => {
      if (this.consumer !== consumer) return; // stopped meanwhile: not a failure
      this.options.log.error({ err: e }, "sink consumer could not start");
      this.options.liveness?.fail("sink", e);
    });
  }

  /** Resolves once every listed partition has committed up to its end offset (exclusive). */
  reached(endOffsets: Map<string, bigint>): Promise<void> {
    return this.positions.reached(endOffsets);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.lateTopics?.stop();
    await this.release();
  }

  /** Ends the consumer after the batch it is on, and waits for the flushes in flight. */
  private async release(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer) await disconnectForGood(consumer);
    await this.groupCommit.drain();
  }

  /**
   * A CDC topic created after the start (a new cluster) must still reach finance.account.
   * kafkajs cannot add a topic to a running consumer, so once one appears the sink commits what
   * it holds and subscribes again with it: a rebalance, once in the cluster's life.
   */
  private followLateTopics(missing: string[]): void {
    if (this.lateTopics) return;
    const { kafka, log, liveness } = this.options;
    this.lateTopics = watchForTopics(
      () => kafka.admin(),
      missing,
      async (appeared) => {
        if (this.stopped) return;
        log.info({ topics: appeared }, "sink: topics created after its start; subscribing again with them");
        await this.release();
        if (this.stopped) return;
        await this.start().catch((e: unknown) => {
          log.error({ err: e }, "sink could not subscribe again");
          liveness?.fail("sink", e);
        });
      },
      { log, everyMs: this.options.lateTopicPollMs ?? 10_000 },
    );
  }

  private async onBatch({ batch, heartbeat, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    // A retry kafkajs schedules after stop() must not write: its offsets would not be committed.
    if (!this.consumer) throw new Error("sink is stopping");
    if (batch.messages.length === 0) return;
    const topic = batch.topic;
    await this.options.codec.prepare(
      batch.messages.flatMap((m) => (topic === DLQ_TOPIC ? [] : [m.key, m.value])),
    );
    const work: SinkWork[] = [];
    for (const m of batch.messages) {
      const source: SourceRecord = {
        topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        headers: m.headers ?? {},
      };
      try {
        work.push(...this.toWork(source));
      } catch (e) {
        // Not lost: an unreadable record is kept in finance.dead_letter for review.
        const { topic, partition, offset } = source;
        if (this.undecodable.allow(topic))
          this.options.log.error(
            { topic, partition, offset, err: e },
            "sink record undecodable; stored as a dead letter",
          );
        this.options.metrics.errors.inc({ stage: "sink", type: (e as Error).name });
        work.push({
          kind: "deadLetter",
          record: deadLetterAt(source, "UNDECODABLE", (e as Error).message),
          source,
        });
      }
    }
    await heartbeatWhile(heartbeat, this.options.config.KAFKA_HEARTBEAT_INTERVAL_MS, () =>
      this.groupCommit.add(work),
    );
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await commitOffsetsIfNecessary({
      topics: [{ topic, partitions: [{ partition: batch.partition, offset: next }] }],
    });
    await heartbeat();
  }

  private toWork(source: SourceRecord): SinkWork[] {
    const { topic, key, value } = source;
    if (topic === VOUCHER_TOPIC) {
      return [{ kind: "voucher", voucher: this.options.codec.decode<Voucher>(value), source }];
    }
    if (topic === DLQ_TOPIC) return [{ kind: "deadLetter", record: dlqRecord(source), source }];
    const rec = {
      topic: topic as CdcTopic,
      key: key ? this.options.codec.decode<{ id: string }>(key) : null,
      value: value ? this.options.codec.decode<DebeziumEnvelope>(value) : null,
    };
    // Seeding only creates what is missing, so a merchant's later rename of an account stands.
    const mode: AccountWriteMode = topic === CDC_TOPICS.merchant ? "insertMissing" : "replace";
    return accountsToPersist(rec).map((account) => ({ kind: "account", account, mode, source }));
  }

  private async flush(work: SinkWork[]): Promise<void> {
    const vouchers = work.filter((w) => w.kind === "voucher").length;
    const { pool, log, metrics } = this.options;
    const end = metrics.sinkFlushSeconds.startTimer();
    const outcome = await flushSinkWork(pool, { log, metrics, refusedLog: this.refused }, work);
    end();
    metrics.sinkBatchSize.observe(vouchers);
    this.options.onFlush?.(vouchers, outcome);
  }
}
