import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { AvroCodec } from "../avro/codec.js";
import { type Config, groups } from "../config.js";
import { deadLetterAt, dlqRecord, type SourceRecord } from "../deadletter/records.js";
import { accountsToPersist, type DebeziumEnvelope } from "../enrich/cdc.js";
import { createConsumer, ensureTopics, sinkConsumerSettings } from "../kafka/client.js";
import { GroupMember, type MemberBatch } from "../kafka/group-member.js";
import { Positions } from "../kafka/positions.js";
import { presentTopics } from "../kafka/topic-presence.js";
import type { Liveness } from "../liveness.js";
import type { Logger } from "../log.js";
import { LogRateLimit } from "../log-rate.js";
import type { Metrics } from "../metrics.js";
import { CDC_TOPICS, type CdcTopic, DLQ_TOPIC, OUTPUT_TOPICS, VOUCHER_TOPIC } from "../topics.js";
import type { AccountWriteMode } from "./account-writer.js";
import { GroupCommit } from "./group-commit.js";
import { type FlushOutcome, flushSinkWork, type SinkWork, voucherWork } from "./sink-flush.js";
import type { VoucherJson } from "./voucher-json.js";

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
  private member: GroupMember | null = null;
  private stopped = false;
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
    const { config, kafka, log, metrics, liveness } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    let topics: string[];
    try {
      // The sink may start before the topology has created its topics (a new cluster).
      await ensureTopics(admin, OUTPUT_TOPICS);
      topics = await presentTopics(admin, SINK_TOPICS);
    } finally {
      await admin.disconnect();
    }
    // Stopped while starting (a shutdown right after start): stay stopped.
    if (this.stopped) return;
    const groupId = groups(config).sink;
    this.member = new GroupMember({
      name: "sink",
      groupId,
      topics,
      // A CDC topic created after the start (a new cluster) must still reach finance.account.
      late: {
        topics: SINK_TOPICS.filter((t) => !topics.includes(t)),
        admin: () => kafka.admin(),
        everyMs: this.options.lateTopicPollMs ?? 10_000,
      },
      newConsumer: () => createConsumer(kafka, groupId, sinkConsumerSettings(config)),
      handle: (batch) => this.book(batch),
      concurrency: config.PARTITIONS_CONSUMED_CONCURRENTLY,
      heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
      log,
      metrics,
      positions: this.positions,
      ...(liveness ? { liveness } : {}),
    });
    await this.member.start();
  }

  /** Resolves once every listed partition has committed up to its end offset (exclusive). */
  reached(endOffsets: Map<string, bigint>): Promise<void> {
    return this.positions.reached(endOffsets);
  }

  /** Leaves the group after the batches in flight, and waits for the flushes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.member?.stop();
    await this.groupCommit.drain();
  }

  /** A batch becomes sink work, flushed with others; durable once its flush has committed. */
  private async book(batch: MemberBatch): Promise<string> {
    const { topic, partition } = batch;
    await this.options.codec.prepare(
      batch.messages.flatMap((m) => (topic === DLQ_TOPIC ? [] : [m.key, m.value])),
    );
    const work: SinkWork[] = [];
    for (const m of batch.messages) {
      const source: SourceRecord = {
        topic,
        partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        headers: m.headers ?? {},
      };
      try {
        work.push(...this.toWork(source));
      } catch (e) {
        // Not lost: an unreadable record is kept in finance.dead_letter for review.
        if (this.undecodable.allow(topic))
          this.options.log.error(
            { topic, partition, offset: m.offset, err: e },
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
    await this.groupCommit.add(work);
    return batch.nextOffset;
  }

  private toWork(source: SourceRecord): SinkWork[] {
    const { topic, key, value } = source;
    if (topic === VOUCHER_TOPIC) {
      // amounts as exact text: the sink only checks, copies and hashes them
      const read = () => this.options.codec.decodeMoneyText<VoucherJson>(value);
      return [voucherWork(read(), source, read)];
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
    const vouchers = work.filter((w) => w.kind === "voucher" || w.kind === "unwritable").length;
    const { pool, log, metrics } = this.options;
    const end = metrics.sinkFlushSeconds.startTimer();
    const outcome = await flushSinkWork(pool, { log, metrics, refusedLog: this.refused }, work);
    end();
    metrics.sinkBatchSize.observe(vouchers);
    this.options.onFlush?.(vouchers, outcome);
  }
}
