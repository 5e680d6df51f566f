import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Pool } from "pg";
import { firstValueFrom, of } from "rxjs";
import type { AvroCodec } from "../avro/codec.js";
import { type Config, groups } from "../config.js";
import { insertDeadLetters } from "../deadletter/store.js";
import { TableFeed } from "../enrich/table-feed.js";
import { MaterializedTables } from "../enrich/tables.js";
import { PostgresVersionStore } from "../enrich/version-store.js";
import {
  createConsumer,
  createProducer,
  disconnectForGood,
  ensureTopics,
  heartbeatWhile,
  maxRecordBytes,
  topologyConsumerSettings,
} from "../kafka/client.js";
import { followPositions, Positions, partitionKey } from "../kafka/positions.js";
import { presentTopics, subscribeWhenServed, untilTopicsExist } from "../kafka/topic-presence.js";
import type { Liveness } from "../liveness.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { loadSchema, readerOf } from "../schemas.js";
import { ALL_SOURCE_TOPICS, DLQ_TOPIC, OUTPUT_TOPICS, VOUCHER_TOPIC, valueSubject } from "../topics.js";
import type { SourceBatch } from "./items.js";
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
  private consumer: Consumer | null = null;
  private readonly sender: RecordSender;
  private readonly positions = new Positions();
  /** Aborts waits for missing references on shutdown, so stopping never waits them out. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: PostingServiceOptions) {
    this.sender = new RecordSender(() => createProducer(options.kafka), options.log);
    this.feed = new TableFeed(
      options.kafka,
      options.codec,
      this.tables,
      groups(options.config).tables,
      options.log,
      options.metrics,
      options.liveness,
      undefined,
      new PostgresVersionStore(options.pool),
    );
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
    const group = groups(config).topology;
    const consumer = createConsumer(kafka, group, topologyConsumerSettings(config));
    this.consumer = consumer;
    this.options.liveness?.watch(consumer, "topology");
    followPositions(consumer, group, metrics, this.positions);
    await consumer.connect();
    // A stop during connect() disconnected a consumer that was not connected yet.
    if (this.consumer !== consumer) return disconnectForGood(consumer);
    if (await this.stoppedWhileStarting()) return;
    await subscribeWhenServed(consumer, sources);
    if (await this.stoppedWhileStarting()) return;
    const sender = this.sender;
    const observe = observeBatch({ log, metrics });
    // Not awaited: run() returns only once the group is joined, which waits for a member killed
    // moments ago to expire; readiness must not (SPEC §4). A failed join surfaces as a crash.
    const running = consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: config.PARTITIONS_CONSUMED_CONCURRENTLY,
      eachBatch: async (payload) => {
        const batch = this.sourceBatch(payload);
        if (batch.records.length === 0) return;
        const topology = postingTopology({
          codec,
          reader: readerOf(valueSubject(batch.topic)),
          tables: this.tables,
          sender,
          maxRecordBytes: recordLimit,
          keepOversized: async (records) => {
            await insertDeadLetters(this.options.pool, records);
          },
          voucherSchemaId,
          wait: {
            timeoutMs: config.RESOLVE_TIMEOUT_MS,
            onWait: payload.heartbeat,
            signal: this.stopping.signal,
          },
          observe,
        });
        try {
          const published = await heartbeatWhile(payload.heartbeat, config.KAFKA_HEARTBEAT_INTERVAL_MS, () =>
            firstValueFrom(of(batch).pipe(topology)),
          );
          await payload.commitOffsetsIfNecessary({
            topics: [
              {
                topic: batch.topic,
                partitions: [{ partition: batch.partition, offset: published.nextOffset }],
              },
            ],
          });
          this.options.onBatch?.(published);
        } catch (e) {
          metrics.errors.inc({ stage: "topology", type: (e as Error).name });
          log.error(
            { topic: batch.topic, partition: batch.partition, err: e },
            "batch failed; it will be retried",
          );
          throw e;
        }
        await payload.heartbeat();
      },
    });
    running.catch((e: unknown) => {
      if (this.consumer !== consumer) return; // stopped meanwhile: not a failure
      log.error({ err: e }, "topology consumer could not start");
      this.options.liveness?.fail("topology", e);
    });
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
   * what it has started since, so that nothing keeps running after the stop.
   */
  private async stoppedWhileStarting(): Promise<boolean> {
    if (!this.stopping.signal.aborted) return false;
    await this.stop();
    return true;
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    this.stopping.abort();
    // Stopping the consumer waits for in-flight batches, which publish and commit before returning;
    // only then may the producer go. The table feed commits nothing and stops alongside.
    await Promise.all([
      (consumer ? disconnectForGood(consumer) : Promise.resolve()).then(() => this.sender.disconnect()),
      this.feed.stop(),
    ]);
  }

  /** In replay, drops records at or past the partition's end offset. */
  private sourceBatch({ batch }: EachBatchPayload): SourceBatch {
    const end = this.options.endOffsets?.get(partitionKey(batch.topic, batch.partition));
    const records = batch.messages
      .filter((m) => !this.options.endOffsets || (end !== undefined && BigInt(m.offset) < end))
      .map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {}, offset: m.offset }));
    return { topic: batch.topic, partition: batch.partition, records };
  }
}
