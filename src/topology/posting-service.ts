import type { Admin, Kafka } from "kafkajs";
import type { Pool } from "pg";
import { firstValueFrom, type OperatorFunction, of } from "rxjs";
import type { AvroCodec } from "../avro/codec.js";
import { type Config, groups } from "../config.js";
import { insertDeadLetters } from "../deadletter/store.js";
import { TableFeed } from "../enrich/table-feed.js";
import { MaterializedTables } from "../enrich/tables.js";
import { PostgresVersionStore } from "../enrich/version-store.js";
import {
  createConsumer,
  createProducer,
  ensureTopics,
  maxRecordBytes,
  topologyConsumerSettings,
} from "../kafka/client.js";
import { type BatchLease, GroupMember, type MemberBatch } from "../kafka/group-member.js";
import { Positions, partitionKey } from "../kafka/positions.js";
import { presentTopics, untilTopicsExist } from "../kafka/topic-presence.js";
import type { Liveness } from "../liveness.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { loadSchema } from "../schemas.js";
import { ALL_SOURCE_TOPICS, DLQ_TOPIC, OUTPUT_TOPICS, VOUCHER_TOPIC, valueSubject } from "../topics.js";
import { type SourceBatch, sourceRecordOf } from "./items.js";
import { observeBatch } from "./observe.js";
import type { PublishedBatch } from "./publish.js";
import { RecordSender } from "./record-sender.js";
import { postingTopology } from "./topology.js";

export interface PostingServiceOptions {
  config: Config;
  kafka: Kafka;
  codec: AvroCodec;
  log: Logger;
  metrics: Metrics;
  /** Where dead letters too large for the dead-letter topic are kept (finance.dead_letter). */
  pool: Pool;
  /** Watches the consumers for /healthz. */
  liveness?: Liveness;
  /** Replay: each partition's end offset (exclusive); partitions not listed hold nothing to do. */
  endOffsets?: Map<string, bigint>;
  onBatch?: (batch: PublishedBatch) => void;
}

/**
 * Runs the posting topology on the source topics: loads the CDC tables first, then consumes
 * with offsets committed only after each batch's vouchers and dead letters are acknowledged.
 */
export class PostingService {
  readonly tables = new MaterializedTables();
  private readonly feed: TableFeed;
  private member: GroupMember | null = null;
  private readonly sender: RecordSender;
  private readonly positions = new Positions();
  /** Aborts the start's waits (for source topics, for the tables) on shutdown. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: PostingServiceOptions) {
    this.sender = new RecordSender(() => createProducer(options.kafka), options.log);
    this.feed = new TableFeed({
      kafka: options.kafka,
      codec: options.codec,
      tables: this.tables,
      groupPrefix: groups(options.config).tables,
      log: options.log,
      metrics: options.metrics,
      heartbeatIntervalMs: options.config.KAFKA_HEARTBEAT_INTERVAL_MS,
      store: new PostgresVersionStore(options.pool),
      ...(options.liveness ? { liveness: options.liveness } : {}),
    });
  }

  /** Resolves when every partition has reached its end offset (replay). */
  reachedEnd(): Promise<void> {
    return this.positions.reached(this.options.endOffsets ?? new Map());
  }

  async start(): Promise<void> {
    const { config, kafka, codec, log, metrics } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    let recordLimit: number;
    let sources: readonly string[] | null;
    try {
      await ensureTopics(admin, OUTPUT_TOPICS);
      recordLimit = await maxRecordBytes(admin, [VOUCHER_TOPIC, DLQ_TOPIC]);
      sources = await this.sourceTopics(admin);
    } finally {
      await admin.disconnect();
    }
    if (sources === null || (await this.stoppedWhileStarting())) return;
    const voucherSchemaId = await codec.register(
      valueSubject(VOUCHER_TOPIC),
      loadSchema(valueSubject(VOUCHER_TOPIC)),
    );
    if (await this.stoppedWhileStarting()) return;
    await this.feed.start();
    await this.sender.connect();
    if (await this.stoppedWhileStarting()) return;
    if (sources.length === 0) return log.info("replay: no source topic exists; nothing to consume");
    // Built once: a batch carries its own hold (heartbeat, and the signal to let go).
    const topology = postingTopology({
      codec,
      tables: this.tables,
      sender: this.sender,
      maxRecordBytes: recordLimit,
      keepOversized: async (records) => {
        await insertDeadLetters(this.options.pool, records);
      },
      voucherSchemaId,
      wait: { timeoutMs: config.RESOLVE_TIMEOUT_MS },
      observe: observeBatch({ log, metrics }),
    });
    const groupId = groups(config).topology;
    this.member = new GroupMember({
      name: "topology",
      groupId,
      topics: sources,
      newConsumer: () => createConsumer(kafka, groupId, topologyConsumerSettings(config)),
      handle: (batch, lease) => this.post(topology, batch, lease),
      concurrency: config.PARTITIONS_CONSUMED_CONCURRENTLY,
      heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
      log,
      metrics,
      positions: this.positions,
      ...(this.options.liveness ? { liveness: this.options.liveness } : {}),
    });
    await this.member.start();
  }

  /** One batch through the topology; durable once its vouchers and dead letters are acknowledged. */
  private async post(
    topology: OperatorFunction<SourceBatch, PublishedBatch>,
    batch: MemberBatch,
    hold: BatchLease,
  ): Promise<string | null> {
    const source = this.sourceBatch(batch, hold);
    if (source.records.length === 0) return null;
    const published = await firstValueFrom(of(source).pipe(topology));
    this.options.onBatch?.(published);
    return published.nextOffset;
  }

  /**
   * The source topics to consume, or null when a stop ended the wait for them. A replay takes
   * those present at its start (one created later holds nothing of the replay's range); `run`
   * waits until all of them exist, since kafkajs cannot subscribe to a topic that does not.
   */
  private async sourceTopics(admin: Admin): Promise<readonly string[] | null> {
    if (this.options.endOffsets) return presentTopics(admin, ALL_SOURCE_TOPICS);
    try {
      await untilTopicsExist(admin, ALL_SOURCE_TOPICS, {
        log: this.options.log,
        signal: this.stopping.signal,
      });
      return ALL_SOURCE_TOPICS;
    } catch (e) {
      if (this.stopping.signal.aborted) return null;
      throw e;
    }
  }

  /**
   * A stop that came while start() was under way (SIGTERM right after a restart): start undoes
   * what it has started since — the producer it connected after the stop — so nothing keeps running.
   */
  private async stoppedWhileStarting(): Promise<boolean> {
    if (!this.stopping.signal.aborted) return false;
    await this.stop();
    return true;
  }

  /**
   * Stops in any state: a start under way returns at its next step; the member lets go of its
   * batches (published ones are committed) and leaves; only then may the producer go.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([
      (this.member?.stop() ?? Promise.resolve()).then(() => this.sender.disconnect()),
      this.feed.stop(),
    ]);
  }

  /** In replay, drops records at or past the partition's end offset. */
  private sourceBatch(batch: MemberBatch, hold: BatchLease): SourceBatch {
    const end = this.options.endOffsets?.get(partitionKey(batch.topic, batch.partition));
    const records = batch.messages
      .filter((m) => !this.options.endOffsets || (end !== undefined && BigInt(m.offset) < end))
      .map(sourceRecordOf);
    return { topic: batch.topic, partition: batch.partition, records, hold };
  }
}
