import type { Message, Producer } from "kafkajs";
import type pg from "pg";
import { REASON_HEADER } from "../deadletter/headers.js";
import { originalRecord } from "../deadletter/inverse.js";
import type { DeadLetterReason } from "../errors.js";
import { createConsumer } from "../kafka/client.js";
import { GroupMember, type MemberBatch } from "../kafka/group-member.js";
import { headerText } from "../kafka/headers.js";
import { pendingRanges, rangeEnds } from "../kafka/offsets.js";
import { RememberingPartitioner } from "../kafka/partitioner.js";
import { Positions, partitionKey } from "../kafka/positions.js";
import { presentTopics } from "../kafka/topic-presence.js";
import { inTransaction } from "../sinks/db.js";
import { ALL_SOURCE_TOPICS, DLQ_TOPIC, VOUCHER_TOPIC } from "../topics.js";
import { runtime } from "./runtime.js";

export interface RedriveOptions {
  /** Say what would be sent; send nothing, commit nothing, mark nothing. */
  dryRun?: boolean;
  /** Send at most this many records (the rest are left for a later redrive). */
  limit?: number;
  /** Bound on the whole run (default 5 minutes); past it the command fails. */
  timeoutMs?: number;
}

export interface RedriveSummary {
  /** Sent back (or, in a dry run, would be), by dead-letter reason. */
  redriven: Record<string, number>;
  /** Not chosen (another reason), or only a stub of a record too large for the topic. */
  kept: Record<string, number>;
  /** Chosen but refused: the destination a header named is not one redrive writes to. */
  refused: Record<string, number>;
  /** Where they went (or would go), by topic. */
  to: Record<string, number>;
  dryRun: boolean;
  /** In a dry run, each record it would send (the first 1,000). */
  plan?: { from: string; to: string; reason: string }[];
}

const PLAN_MAX = 1_000;

const bump = (tally: Record<string, number>, name: string, n = 1) => {
  tally[name] = (tally[name] ?? 0) + n;
};

/** A producer that never creates a topic and gives up on a send after bounded retries. */
const boundedProducer = (kafka: ReturnType<typeof runtime>["kafka"]): Producer =>
  kafka.producer({
    idempotent: true,
    allowAutoTopicCreation: false,
    createPartitioner: RememberingPartitioner,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  });

/**
 * `finance-posting redrive`: sends dead letters of the chosen reasons back, so the pipeline posts
 * them now that the missing data exists or the defect is fixed (SPEC §5, §6).
 * - From finance.posting.dlq, from its own group's committed offsets up to the end at start:
 *   only to the four source topics (see `originalRecord`); a redriven event that posts twice is
 *   an idempotent replay.
 * - From finance.dead_letter, for the reasons chosen: the vouchers the sink itself refused and
 *   stored at their own place on finance.voucher (never a row from the dead-letter topic, whose
 *   origin is a header's word), back to finance.voucher; each row once (`redriven_at`).
 * Never creates a topic; refused records are counted in the summary, never written.
 */
export async function redriveCommand(
  reasons: readonly DeadLetterReason[],
  env: NodeJS.ProcessEnv = process.env,
  options: RedriveOptions = {},
): Promise<RedriveSummary> {
  const { config, kafka, log, metrics, pool } = runtime(env);
  const dryRun = options.dryRun ?? false;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const summary: RedriveSummary = { redriven: {}, kept: {}, refused: {}, to: {}, dryRun };
  if (dryRun) summary.plan = [];
  const chosen = (reason: string) => (reasons as readonly string[]).includes(reason);
  let sent = 0;
  const planned = (from: string, to: string, reason: string) => {
    sent++;
    bump(summary.redriven, reason);
    bump(summary.to, to);
    if (summary.plan && summary.plan.length < PLAN_MAX) summary.plan.push({ from, to, reason });
  };

  const admin = kafka.admin();
  await admin.connect();
  let present: Set<string>;
  let ranges: Awaited<ReturnType<typeof pendingRanges>>;
  try {
    present = new Set(await presentTopics(admin, [...ALL_SOURCE_TOPICS, VOUCHER_TOPIC]));
    ranges = await pendingRanges(admin, `${config.CONSUMER_GROUP}.redrive`, [DLQ_TOPIC]);
  } finally {
    await admin.disconnect();
  }

  const producer = dryRun ? null : boundedProducer(kafka);
  await producer?.connect();
  const timeoutMs = options.timeoutMs ?? 300_000;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redrive did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    if (ranges.size > 0 && sent < limit) {
      await Promise.race([fromTopic(), deadline]);
    }
    if (chosen("POSTING_FAILED")) {
      const db = pool();
      try {
        await Promise.race([fromTable(db), deadline]);
      } finally {
        await db.end();
      }
    }
  } finally {
    clearTimeout(timer);
    await producer?.disconnect();
  }
  const refusedTotal = Object.values(summary.refused).reduce((a, b) => a + b, 0);
  if (refusedTotal > 0)
    log.warn(
      { refused: summary.refused },
      "redrive refused dead letters: their headers name no source topic that exists; nothing written for them",
    );
  log.info({ ...summary, plan: undefined }, dryRun ? "redrive dry run complete" : "redrive complete");
  return summary;

  async function fromTopic(): Promise<void> {
    const groupId = `${config.CONSUMER_GROUP}.redrive`;
    const ends = rangeEnds(ranges);
    const positions = new Positions();
    let reachedLimit: () => void = () => undefined;
    const limitReached = new Promise<void>((resolve) => {
      reachedLimit = resolve;
    });
    let done = false;
    const member = new GroupMember({
      name: "redrive",
      groupId,
      topics: [DLQ_TOPIC],
      newConsumer: () => createConsumer(kafka, groupId),
      handle: async (batch) => {
        // A partition with nothing pending at start: what arrived since is for a later redrive
        // (and committing "up to the end" there would move the group back to its start).
        const end = ends.get(partitionKey(batch.topic, batch.partition));
        if (done || end === undefined) return null;
        const { next, sends, tally } = sorted(batch, end);
        if (sends.size > 0 && producer) {
          await producer.sendBatch({
            topicMessages: [...sends].map(([topic, messages]) => ({ topic, messages })),
            acks: -1,
            timeout: 30_000,
          });
        }
        // Counted once sent: a batch tried again after an outage is not counted twice.
        for (const [name, n] of Object.entries(tally.kept)) bump(summary.kept, name, n);
        for (const [name, n] of Object.entries(tally.refused)) bump(summary.refused, name, n);
        for (const p of tally.planned) planned(p.from, p.to, p.reason);
        if (sent >= limit) {
          done = true;
          reachedLimit();
        }
        return dryRun ? null : next.toString();
      },
      heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
      log,
      metrics,
      positions,
    });
    try {
      await member.start();
      await Promise.race([positions.reached(ends), limitReached, deadline]);
    } finally {
      done = true;
      await member.stop();
    }
  }

  /**
   * What to do with a batch of dead letters: the records to send, by topic, the offset to
   * commit — never past the end captured at start, nor past the limit: the rest is for a later
   * redrive — and what it counts.
   */
  function sorted(batch: MemberBatch, end: bigint) {
    const sends = new Map<string, Message[]>();
    const tally = { kept: {}, refused: {}, planned: [] } as {
      kept: Record<string, number>;
      refused: Record<string, number>;
      planned: { from: string; to: string; reason: string }[];
    };
    let next = BigInt(batch.nextOffset);
    if (next > end) next = end;
    for (const m of batch.messages) {
      if (BigInt(m.offset) >= end) break;
      const headers = m.headers ?? {};
      const reason = headerText(headers, REASON_HEADER) ?? "UNKNOWN";
      const target = originalRecord(headers, m.key, m.value);
      if (!chosen(reason) || target.kind === "stub") {
        bump(tally.kept, reason);
        continue;
      }
      if (target.kind === "refused") {
        bump(tally.refused, target.why);
        continue;
      }
      if (!present.has(target.topic)) {
        bump(tally.refused, "TOPIC_MISSING");
        continue;
      }
      if (sent + tally.planned.length >= limit) {
        next = BigInt(m.offset);
        break;
      }
      tally.planned.push({ from: `${DLQ_TOPIC}:${batch.partition}:${m.offset}`, to: target.topic, reason });
      if (!dryRun) {
        const messages = sends.get(target.topic) ?? [];
        messages.push(target.message);
        sends.set(target.topic, messages);
      }
    }
    return { next, sends, tally };
  }

  async function fromTable(db: pg.Pool): Promise<void> {
    // A POSTING_FAILED row whose topic is finance.voucher that the sink stored at its own place:
    // the voucher it read there and Postgres refused. A row from the dead-letter topic
    // (from_dlq, its origin a header's word) is never one.
    const where = `topic = $1 AND NOT from_dlq AND reason = 'POSTING_FAILED' AND redriven_at IS NULL`;
    const select = `
      SELECT id, reason, key, value, headers FROM finance.dead_letter WHERE ${where}
      ORDER BY id LIMIT $2`;
    if (!present.has(VOUCHER_TOPIC)) {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM finance.dead_letter WHERE ${where}`,
        [VOUCHER_TOPIC],
      );
      if (Number(rows[0]?.n ?? 0) > 0) bump(summary.refused, "TOPIC_MISSING", Number(rows[0]?.n));
      return;
    }
    let skipped = 0;
    for (;;) {
      const room = Math.min(500, limit - sent);
      if (room <= 0) return;
      if (dryRun) {
        const rows = (await db.query<Row>(`${select} OFFSET $3`, [VOUCHER_TOPIC, room, skipped])).rows;
        skipped += rows.length;
        for (const r of rows) planned(`finance.dead_letter#${r.id}`, VOUCHER_TOPIC, r.reason);
        if (rows.length < room) return;
        continue;
      }
      // Locked while sent, marked once acknowledged: a crash in between sends it again next
      // time, an idempotent replay; a second redrive at the same time skips these rows.
      const n = await inTransaction(db, "redrive refused vouchers", async (client) => {
        const rows = (await client.query<Row>(`${select} FOR UPDATE SKIP LOCKED`, [VOUCHER_TOPIC, room]))
          .rows;
        if (rows.length === 0) return 0;
        await producer?.send({
          topic: VOUCHER_TOPIC,
          messages: rows.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
          acks: -1,
          timeout: 30_000,
        });
        await client.query(
          "UPDATE finance.dead_letter SET redriven_at = now() WHERE id = ANY($1::bigint[])",
          [rows.map((r) => r.id)],
        );
        for (const r of rows) planned(`finance.dead_letter#${r.id}`, VOUCHER_TOPIC, r.reason);
        return rows.length;
      });
      if (n < room) return;
    }
  }
}

interface Row {
  id: string;
  reason: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}
