import { randomUUID } from "node:crypto";
import type { Kafka } from "kafkajs";
import type { AvroCodec } from "../avro/codec.js";
import { TransientInfraError } from "../errors.js";
import { createConsumer } from "../kafka/client.js";
import { GroupMember, type MemberBatch } from "../kafka/group-member.js";
import { endOffsets } from "../kafka/offsets.js";
import { Positions } from "../kafka/positions.js";
import { presentTopics } from "../kafka/topic-presence.js";
import type { Liveness } from "../liveness.js";
import type { Logger } from "../log.js";
import { LogRateLimit } from "../log-rate.js";
import type { Metrics } from "../metrics.js";
import { BACKOFF, retry } from "../retry.js";
import { ALL_CDC_TOPICS, type CdcTopic } from "../topics.js";
import {
  applyCdc,
  CDC_COLUMNS,
  type CdcOutcome,
  type CdcRecord,
  commitTime,
  type DebeziumEnvelope,
} from "./cdc.js";
import type { MaterializedTables } from "./tables.js";
import { recordOf, type StoredChange, type VersionStore } from "./version-store.js";

export interface TableFeedOptions {
  kafka: Kafka;
  codec: AvroCodec;
  tables: MaterializedTables;
  /** The feed's group name for an instance id: a group of its own per instance. */
  groupPrefix: (instance: string) => string;
  log: Logger;
  metrics: Metrics;
  heartbeatIntervalMs: number;
  liveness?: Liveness;
  /** How often CDC topics missing at the start are looked for (default 10 s). */
  lateTopicPollMs?: number;
  /** Where versions are kept; without one (tests) the tables live in memory only. */
  store?: VersionStore;
}

/** Batches of kept versions that may wait for Postgres before the feed waits with them. */
const MAX_UNSAVED_BATCHES = 4;

/**
 * Feeds the materialized tables from the CDC topics. First the versions kept in Postgres are
 * loaded (SPEC §5: what finance has seen outlives upstream compaction); then every instance
 * reads every partition (a group of its own, never committed), applying what it had not kept
 * yet and keeping each new version, up to the end offsets that existed at start before
 * `start()` resolves, then keeps following. Once stopped it stays stopped.
 */
export class TableFeed {
  private member: GroupMember | null = null;
  private readonly groupId: string;
  /** Aborted by stop(), so that a load still under way stops waiting. */
  private readonly stopping = new AbortController();
  /** Refused rows are logged one by one up to a rate; a flood of them is summed up. */
  private readonly refusals: LogRateLimit;
  /** The saves of kept versions, one after another (keep()), and how many batches wait in it. */
  private saving: Promise<void> = Promise.resolve();
  private unsaved = 0;
  /** Resolves on stop(), whenever start() comes to wait for it. */
  private readonly stopped = new Promise<void>((resolve) =>
    this.stopping.signal.addEventListener("abort", () => resolve(), { once: true }),
  );

  constructor(private readonly o: TableFeedOptions) {
    this.groupId = o.groupPrefix(randomUUID());
    this.refusals = new LogRateLimit(o.log, "CDC rows refused", "error");
  }

  async start(): Promise<void> {
    try {
      await this.loadKept();
    } catch (e) {
      if (this.stopping.signal.aborted) return; // stopped while waiting for Postgres
      throw e;
    }
    if (this.stopping.signal.aborted) return;
    const admin = this.o.kafka.admin();
    await admin.connect();
    let topics: string[];
    let ends: Map<string, bigint>;
    try {
      topics = await presentTopics(admin, ALL_CDC_TOPICS);
      ends = await endOffsets(admin, topics);
    } finally {
      await admin.disconnect();
    }
    const missing = ALL_CDC_TOPICS.filter((t) => !topics.includes(t));
    if (missing.length > 0) {
      this.o.log.warn(
        { missing },
        "CDC topics not found; their tables start empty and follow them once created",
      );
    }
    const started = Date.now();
    const positions = new Positions();
    if (this.stopping.signal.aborted) return;
    const { kafka } = this.o;
    // Its offsets are committed as it goes: a consumer replaced after a crash carries on where
    // this one was instead of reading every topic again; the group dies with the instance.
    this.member = new GroupMember({
      name: "tables",
      groupId: this.groupId,
      topics,
      late: { topics: missing, admin: () => kafka.admin(), everyMs: this.o.lateTopicPollMs ?? 10_000 },
      newConsumer: () => createConsumer(kafka, this.groupId),
      handle: (batch) => this.applyBatch(batch),
      concurrency: 1,
      heartbeatIntervalMs: this.o.heartbeatIntervalMs,
      log: this.o.log,
      metrics: this.o.metrics,
      positions,
      ...(this.o.liveness ? { liveness: this.o.liveness } : {}),
    });
    await this.member.start();
    await Promise.race([positions.reached(ends), this.stopped]);
    if (this.stopping.signal.aborted) return;
    this.o.log.info({ ms: Date.now() - started, ...this.o.tables.sizes }, "materialized tables loaded");
  }

  /** The versions kept in Postgres, applied again in their order; waits while Postgres is down. */
  private async loadKept(): Promise<void> {
    const store = this.o.store;
    if (!store) return;
    const started = Date.now();
    const changes = await this.whileTransient(() => store.load());
    let broken = 0;
    for (const change of changes) {
      try {
        applyCdc(this.o.tables, recordOf(change), this.o.log);
      } catch (e) {
        // Written by a version that kept other columns: the topic still has the row, or not.
        broken++;
        this.o.metrics.errors.inc({ stage: "cdc", type: (e as Error).name });
      }
    }
    if (broken > 0) this.o.log.error({ broken }, "kept reference versions not applied");
    this.o.tables.expectReread();
    this.o.log.info({ ms: Date.now() - started, changes: changes.length }, "reference versions loaded");
  }

  /**
   * Saves a batch's new versions after those of the batches before it, without holding up the
   * feed: the tables are in memory already, and a version not yet saved when the process dies
   * is read again from its topic at the next start. One save at a time keeps the store in topic
   * order. A save that fails for good (not an outage) is logged; the next ones go on.
   */
  private keep(store: VersionStore, kept: StoredChange[]): void {
    this.unsaved++;
    this.saving = this.saving
      .then(() => this.whileTransient(() => store.save(kept)))
      .finally(() => {
        this.unsaved--;
      })
      .catch((e: unknown) => {
        if (this.stopping.signal.aborted) return;
        this.o.metrics.errors.inc({ stage: "cdc", type: (e as Error).name });
        this.o.log.error({ err: e, versions: kept.length }, "reference versions not kept in Postgres");
      });
  }

  /** Retries an outage of Postgres until it passes or the feed stops. */
  private whileTransient<T>(work: () => Promise<T>): Promise<T> {
    return retry(work, {
      ...BACKOFF.referenceStore,
      retryIf: (e) => e instanceof TransientInfraError,
      signal: this.stopping.signal,
    });
  }

  /** Stops following; a start still loading the tables returns at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    const member = this.member;
    this.member = null;
    if (!member) return this.saving;
    await member.stop();
    // What was read is kept before the caller ends the pool (an outage is no longer waited out).
    await this.saving;
    // The group existed only for this instance's full reads; leave no litter on the cluster.
    const admin = this.o.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    await admin.disconnect();
  }

  private async applyBatch(batch: MemberBatch): Promise<string> {
    const topic = batch.topic as CdcTopic;
    await this.o.codec.prepare(batch.messages.flatMap((m) => [m.key, m.value]));
    const kept: StoredChange[] = [];
    const broken: { offset: string; error: Error }[] = [];
    for (const m of batch.messages) {
      try {
        const rec: CdcRecord = {
          topic,
          key: m.key ? this.o.codec.decode<{ id: string }>(m.key) : null,
          value: m.value ? this.o.codec.decode<DebeziumEnvelope>(m.value) : null,
        };
        const outcome = applyCdc(this.o.tables, rec, this.o.log);
        this.report(outcome, rec, batch.partition, m.offset);
        if (outcome.kind === "versioned" || outcome.kind === "refused") kept.push(changeOf(rec));
      } catch (e) {
        // A broken CDC row cannot be dead-lettered as an event; events needing it end UNRESOLVED.
        this.o.metrics.errors.inc({ stage: "cdc", type: (e as Error).name });
        broken.push({ offset: m.offset, error: e as Error });
      }
    }
    this.logBroken(topic, batch.partition, broken);
    const store = this.o.store;
    if (store && kept.length > 0) this.keep(store, kept);
    // A feed far ahead of Postgres would hold every unsaved batch in memory: wait for it there.
    if (this.unsaved > MAX_UNSAVED_BATCHES) await this.saving;
    const sizes = this.o.tables.sizes;
    this.o.metrics.referenceVersions.set({ table: "merchant" }, sizes.merchants.versions);
    this.o.metrics.referenceVersions.set({ table: "finance_account" }, sizes.accounts.versions);
    this.o.metrics.referenceVersions.set({ table: "vendor" }, sizes.vendors.versions);
    this.o.metrics.referenceVersions.set({ table: "purchase_order" }, sizes.purchaseOrders.versions);
    return batch.nextOffset;
  }

  /** Refused rows are counted and logged at error with both values (SPEC §5 "Owners never change"). */
  private report(outcome: CdcOutcome, rec: CdcRecord, partition: number, offset: string): void {
    const at = { topic: rec.topic, partition, offset };
    if (outcome.kind === "ignored") {
      this.o.log.debug({ ...at, why: outcome.why }, "CDC record ignored");
    } else if (outcome.kind === "refused") {
      this.o.metrics.cdcRowsRefused.inc({ table: outcome.table, reason: outcome.reason });
      if (!this.refusals.allow(`${outcome.table} ${outcome.reason}`)) return;
      this.o.log.error(
        { ...at, reason: outcome.reason, row: rec.value?.after },
        `CDC row refused: ${outcome.message}`,
      );
    } else if (outcome.kind === "versioned") {
      for (const d of outcome.disowned) {
        this.o.metrics.cdcRowsRefused.inc({ table: "finance_account", reason: "OWNER_CHANGED" });
        this.o.log.error(
          { ...at, accountId: d.id, claimedBy: d.claimedBy, ownedBy: d.ownedBy },
          `CDC rows refused: account ${d.id} is merchant ${d.ownedBy}'s seeded account, not merchant ${d.claimedBy}'s`,
        );
      }
    }
  }

  /** One line per batch: a history of rows nobody can decode would otherwise log a stack trace per row on every start. */
  private logBroken(topic: string, partition: number, broken: { offset: string; error: Error }[]): void {
    const [first, last] = [broken[0], broken.at(-1)];
    if (!first || !last) return;
    this.o.log.error(
      { topic, partition, count: broken.length, offsets: [first.offset, last.offset], err: first.error },
      "CDC records not applied",
    );
  }
}

/** What is kept of a row that became a version: its contract columns, and when it was committed. */
function changeOf(rec: CdcRecord): StoredChange {
  const v = rec.value as DebeziumEnvelope;
  const after = v.op === "d" ? null : v.after;
  const id = after ? String(after.id) : (rec.key?.id ?? String(v.before?.id));
  const row = after && Object.fromEntries(CDC_COLUMNS[rec.topic].map((c) => [c, after[c] ?? null]));
  return { topic: rec.topic, id, op: v.op, at: commitTime(v), row };
}
