import type { Consumer, EachBatchPayload, IHeaders, Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { AvroCodec } from "../avro/codec.js";
import { type Config, groups } from "../config.js";
import type { Account } from "../domain/accounts.js";
import type { Voucher } from "../domain/voucher.js";
import { accountsToPersist, type DebeziumEnvelope } from "../enrich/cdc.js";
import { createConsumer, ensureTopics, followPositions, headerText, Positions } from "../kafka.js";
import type { Logger } from "../log.js";
import { metrics } from "../metrics.js";
import { CDC_TOPICS, type CdcTopic, DLQ_TOPIC, OUTPUT_TOPICS, VOUCHER_TOPIC } from "../topics.js";
import { type AccountWriteMode, upsertAccounts } from "./account-writer.js";
import { type DeadLetterRecord, insertDeadLetters } from "./dead-letter-writer.js";
import { GroupCommit } from "./group-commit.js";
import { writeVoucherBatch } from "./postgres-writer.js";

/** The sink's topics: vouchers and dead letters to book, merchants and accounts to keep finance.account whole. */
export const SINK_TOPICS = [
  VOUCHER_TOPIC,
  DLQ_TOPIC,
  CDC_TOPICS.merchant,
  CDC_TOPICS.financeAccount,
] as const;

type SinkWork =
  | { kind: "voucher"; voucher: Voucher }
  | { kind: "deadLetter"; record: DeadLetterRecord }
  | { kind: "account"; account: Account; mode: AccountWriteMode };

export interface SinkServiceOptions {
  config: Config;
  kafka: Kafka;
  codec: AvroCodec;
  pool: Pool;
  log: Logger;
  /** Called after each flush has committed in Postgres and before any offset commit (fault injection in tests). */
  onFlush?: (vouchers: number) => void;
}

/**
 * Books vouchers, dead letters and accounts into Postgres in batches gathered across
 * partitions; a partition's offsets are committed only after the flush holding its records
 * has committed.
 */
export class SinkService {
  private consumer: Consumer | null = null;
  private readonly gc: GroupCommit<SinkWork>;
  private readonly positions = new Positions();

  constructor(private readonly o: SinkServiceOptions) {
    this.gc = new GroupCommit(o.config.SINK_BATCH_SIZE, o.config.SINK_LINGER_MS, (work) => this.flush(work));
  }

  async start(): Promise<void> {
    const group = groups(this.o.config).sink;
    this.consumer = createConsumer(this.o.kafka, group);
    followPositions(this.consumer, group, this.positions);
    await this.consumer.connect();
    const admin = this.o.kafka.admin();
    await admin.connect();
    // The sink may start before the topology has created its topics (a new cluster).
    await ensureTopics(admin, OUTPUT_TOPICS);
    const existing = new Set(await admin.listTopics());
    await admin.disconnect();
    await this.consumer.subscribe({
      topics: SINK_TOPICS.filter((t) => existing.has(t)),
      fromBeginning: true,
    });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.o.config.PARTITIONS_CONSUMED_CONCURRENTLY,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Resolves once every listed partition has committed up to its offset (exclusive). */
  caughtUp(stopAt: Map<string, bigint>): Promise<void> {
    return this.positions.reached(stopAt);
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.disconnect();
    await this.gc.drain();
  }

  private async onBatch({ batch, heartbeat, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    // A retry kafkajs schedules after stop() must not write: its offsets would not be committed.
    if (!this.consumer) throw new Error("sink is stopping");
    if (batch.messages.length === 0) return;
    const topic = batch.topic;
    await this.o.codec.prepare(batch.messages.flatMap((m) => (topic === DLQ_TOPIC ? [] : [m.key, m.value])));
    const work: SinkWork[] = [];
    for (const m of batch.messages) {
      const at = { topic, partition: batch.partition, offset: m.offset };
      try {
        work.push(...this.toWork(topic, m.key, m.value, m.headers ?? {}, at));
      } catch (e) {
        // Not lost: an unreadable record is kept in finance.dead_letter for review.
        this.o.log.error({ ...at, err: e }, "sink record undecodable; stored as a dead letter");
        metrics.errors.inc({ stage: "sink", type: (e as Error).name });
        work.push({
          kind: "deadLetter",
          record: deadLetterOf(at, m.key, m.value, m.headers ?? {}, e as Error),
        });
      }
    }
    await this.gc.add(work);
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await commitOffsetsIfNecessary({
      topics: [{ topic, partitions: [{ partition: batch.partition, offset: next }] }],
    });
    await heartbeat();
  }

  private toWork(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    headers: IHeaders,
    at: { topic: string; partition: number; offset: string },
  ): SinkWork[] {
    if (topic === VOUCHER_TOPIC) return [{ kind: "voucher", voucher: this.o.codec.decode<Voucher>(value) }];
    if (topic === DLQ_TOPIC) return [{ kind: "deadLetter", record: dlqRecord(at, key, value, headers) }];
    const rec = {
      topic: topic as CdcTopic,
      key: key ? this.o.codec.decode<{ id: string }>(key) : null,
      value: value ? this.o.codec.decode<DebeziumEnvelope>(value) : null,
    };
    // Seeding only creates what is missing, so a merchant's later rename of an account stands.
    const mode: AccountWriteMode = topic === CDC_TOPICS.merchant ? "insertMissing" : "replace";
    return accountsToPersist(rec).map((account) => ({ kind: "account", account, mode }));
  }

  private async flush(work: SinkWork[]): Promise<void> {
    const vouchers = work.flatMap((w) => (w.kind === "voucher" ? [w.voucher] : []));
    const deadLetters = work.flatMap((w) => (w.kind === "deadLetter" ? [w.record] : []));
    const accounts = (mode: AccountWriteMode) =>
      work.flatMap((w) => (w.kind === "account" && w.mode === mode ? [w.account] : []));
    const end = metrics.sinkFlushSeconds.startTimer();
    await upsertAccounts(this.o.pool, accounts("insertMissing"), "insertMissing");
    await upsertAccounts(this.o.pool, accounts("replace"), "replace");
    if (deadLetters.length > 0) await insertDeadLetters(this.o.pool, deadLetters);
    if (vouchers.length > 0) {
      const result = await writeVoucherBatch(this.o.pool, vouchers);
      for (const [kind, n] of Object.entries(result.inserted)) metrics.vouchersPosted.inc({ kind }, n);
      for (const [kind, n] of Object.entries(result.replayed)) metrics.voucherReplays.inc({ kind }, n);
      metrics.contentConflicts.inc(result.conflicts.length);
      const now = Date.now();
      for (const v of vouchers) metrics.eventToPostingSeconds.observe(Math.max(0, now - v.occurredAt) / 1000);
    }
    end();
    metrics.sinkBatchSize.observe(vouchers.length);
    this.o.onFlush?.(vouchers.length);
  }
}

const headerStrings = (headers: IHeaders): Record<string, string> =>
  Object.fromEntries(Object.keys(headers).map((k) => [k, headerText(headers, k) ?? ""]));

/**
 * A record from finance.posting.dlq, keyed by where the failed event came from; when those
 * headers are missing or malformed, by the dead letter's own place, so it is still stored once.
 */
function dlqRecord(
  at: { topic: string; partition: number; offset: string },
  key: Buffer | null,
  value: Buffer | null,
  headers: IHeaders,
): DeadLetterRecord {
  const topic = headerText(headers, "__connect.errors.topic");
  const partition = headerText(headers, "__connect.errors.partition") ?? "";
  const offset = headerText(headers, "__connect.errors.offset") ?? "";
  const origin =
    topic && /^\d+$/.test(partition) && /^\d+$/.test(offset)
      ? { topic, partition: Number(partition), offset }
      : at;
  return {
    ...origin,
    key,
    value,
    headers: headerStrings(headers),
    reason: headerText(headers, "finance.dlq.reason") ?? "UNKNOWN",
    error: headerText(headers, "__connect.errors.exception.message") ?? "",
  };
}

function deadLetterOf(
  at: { topic: string; partition: number; offset: string },
  key: Buffer | null,
  value: Buffer | null,
  headers: IHeaders,
  e: Error,
): DeadLetterRecord {
  return { ...at, key, value, headers: headerStrings(headers), reason: "UNDECODABLE", error: e.message };
}
