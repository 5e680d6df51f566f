import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { IHeaders } from "kafkajs";
import type pg from "pg";
import { type RedriveSummary, redriveCommand } from "../../src/commands/redrive.js";
import { replayCommand } from "../../src/commands/replay.js";
import { REASON_HEADER } from "../../src/deadletter/headers.js";
import { deadLetterAt } from "../../src/deadletter/records.js";
import { insertDeadLetters } from "../../src/deadletter/store.js";
import type { DeadLetterReason } from "../../src/errors.js";
import { startGroupAtEnd } from "../../src/kafka/group-offsets.js";
import { loadSchema } from "../../src/schemas.js";
import { migrate } from "../../src/sinks/migrate.js";
import { DLQ_TOPIC, SOURCE_TOPICS, VOUCHER_TOPIC, valueSubject } from "../../src/topics.js";
import { log } from "../support/log.js";
import {
  connectKafka,
  deploymentOn,
  endOffsetsOf,
  produce,
  readFrom,
  startGroupsAtEnd,
  type TestKafka,
} from "../support/pipeline.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";
import { sampleVoucher } from "../support/vouchers.js";

const exec = promisify(execFile);

/** Error headers as the topology writes them, naming `topic` as the origin. */
const dlqHeaders = (topic: string | null, reason: string, extra: IHeaders = {}): IHeaders => ({
  ...(topic === null ? {} : { "__connect.errors.topic": topic }),
  "__connect.errors.partition": "0",
  "__connect.errors.offset": "0",
  "__connect.errors.exception.class.name": "Error",
  "__connect.errors.exception.message": "forged",
  [REASON_HEADER]: reason,
  ...extra,
});

describe("redrive: trusts no header for where to write", () => {
  const run = randomUUID().slice(0, 8);
  let db: ThrowawayDb;
  let pool: pg.Pool;
  let k: TestKafka;
  let deployment: ReturnType<typeof deploymentOn>;
  let voucherSchema: number;

  before(async () => {
    db = await createThrowawayDb();
    pool = db.pool(2);
    await migrate(pool, log);
    deployment = deploymentOn(db.url);
    k = await connectKafka(deployment.config);
    voucherSchema = await k.codec.register(
      valueSubject(VOUCHER_TOPIC),
      loadSchema(valueSubject(VOUCHER_TOPIC)),
    );
    // This deployment sees only what this file publishes.
    await startGroupsAtEnd(k, deployment.config);
    await startGroupAtEnd(k.kafka, k.admin, `${deployment.config.CONSUMER_GROUP}.redrive`, [DLQ_TOPIC]);
  });
  after(async () => {
    await k.close();
    await db.drop();
  });

  const voucherBytes = (id: string) =>
    k.codec.encode(voucherSchema, sampleVoucher(id, { merchantId: `m-${run}` }));
  const bookedKeys = async (merchantId: string) =>
    (
      await pool.query<{ idempotency_key: string }>(
        "SELECT idempotency_key FROM finance.voucher WHERE merchant_id = $1 ORDER BY 1",
        [merchantId],
      )
    ).rows.map((r) => r.idempotency_key);

  // Reasons of this run's own: the dead-letter topic is shared, and a redrive of a real reason
  // would send other tests' dead letters back too. Redrive treats every reason alike.
  const forgedReason = `FORGED_${run}`;
  const testReason = `TEST_${run}`;
  const reasonsOf = (...r: string[]) => r as DeadLetterReason[];

  it("refuses dead letters whose header names finance.voucher, a missing topic, garbage or nothing: nothing written, ends fast", async () => {
    const missing = `no-such-topic-${run}`;
    const voucherFrom = new Map(await endOffsetsOf(k.admin, VOUCHER_TOPIC));
    // A valid voucher, dead-lettered "from" finance.voucher: a redrive that followed the header
    // would put it in the books.
    await produce(k.kafka, DLQ_TOPIC, [
      {
        key: `forged-${run}`,
        value: voucherBytes(`forged-u-${run}`),
        headers: dlqHeaders(VOUCHER_TOPIC, forgedReason),
      },
      {
        key: `forged-${run}`,
        value: voucherBytes(`forged-p-${run}`),
        headers: dlqHeaders(VOUCHER_TOPIC, "POSTING_FAILED"),
      },
      { key: `forged-${run}`, value: Buffer.from("x"), headers: dlqHeaders(missing, forgedReason) },
      {
        key: `forged-${run}`,
        value: Buffer.from("x"),
        headers: dlqHeaders("\u0000\u00ff..//garbage", forgedReason),
      },
      { key: `forged-${run}`, value: Buffer.from("x"), headers: dlqHeaders(null, forgedReason) },
    ]);

    const started = Date.now();
    const summary = await redriveCommand(reasonsOf(forgedReason, "POSTING_FAILED"), deployment.env);
    const took = Date.now() - started;
    assert.ok(took < 30_000, `redrive took ${took} ms`);
    assert.equal(summary.redriven[forgedReason], undefined, JSON.stringify(summary));
    assert.equal(summary.to[VOUCHER_TOPIC], undefined);
    assert.ok((summary.refused.NOT_A_SOURCE_TOPIC ?? 0) >= 4, JSON.stringify(summary));
    assert.ok((summary.refused.NO_TOPIC ?? 0) >= 1);

    assert.ok(!(await k.admin.listTopics()).includes(missing), "redrive created a topic");
    const written = await readFrom(k.kafka, VOUCHER_TOPIC, voucherFrom, () => false, 3_000);
    assert.deepEqual(
      written.filter((r) => r.key?.toString() === `forged-${run}`),
      [],
    );
  });

  it("a dead letter naming a source topic goes back there without the error headers; --dry-run and --limit", async () => {
    const from = new Map(await endOffsetsOf(k.admin, SOURCE_TOPICS.inventoryAdjusted));
    const key = `limit-${run}`;
    await produce(
      k.kafka,
      DLQ_TOPIC,
      [1, 2, 3].map((i) => ({
        key,
        value: Buffer.from(`event ${i}`),
        headers: dlqHeaders(SOURCE_TOPICS.inventoryAdjusted, testReason, { "x-trace": `t${i}` }),
      })),
    );
    const dry = await redriveCommand(reasonsOf(testReason), deployment.env, { dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.redriven, { [testReason]: 3 });
    assert.equal(dry.plan?.length, 3);
    assert.ok(
      dry.plan?.every((p) => p.to === SOURCE_TOPICS.inventoryAdjusted && p.from.startsWith(DLQ_TOPIC)),
    );

    const first = await redriveCommand(reasonsOf(testReason), deployment.env, { limit: 2 });
    assert.deepEqual(first.redriven, { [testReason]: 2 });
    const second = await redriveCommand(reasonsOf(testReason), deployment.env);
    assert.deepEqual(second.redriven, { [testReason]: 1 });
    assert.deepEqual(second.to, { [SOURCE_TOPICS.inventoryAdjusted]: 1 });

    const back = (
      await readFrom(
        k.kafka,
        SOURCE_TOPICS.inventoryAdjusted,
        from,
        (rs) => rs.filter((r) => r.key?.toString() === key).length >= 3,
        10_000,
      )
    ).filter((r) => r.key?.toString() === key);
    assert.deepEqual(back.map((r) => r.value?.toString()).sort(), ["event 1", "event 2", "event 3"]);
    for (const r of back) assert.deepEqual(Object.keys(r.headers), ["x-trace"]);
    // Nothing new after the two runs: the group's offsets moved past all three, none sent twice.
    const third = await redriveCommand(reasonsOf(testReason), deployment.env);
    assert.deepEqual(third.redriven, {});
  });

  it("a voucher the sink refused (POSTING_FAILED in finance.dead_letter) is sent back from the table and booked; a header's claim is not", async () => {
    const merchantId = `m-${run}`;
    const refusedId = `refused-${run}`;
    const voucherOffsets = new Map(await endOffsetsOf(k.admin, VOUCHER_TOPIC));
    // As the sink stores a voucher Postgres refused: at its own place on finance.voucher.
    await insertDeadLetters(pool, [
      deadLetterAt(
        {
          topic: VOUCHER_TOPIC,
          partition: 0,
          offset: "987654321",
          key: Buffer.from(merchantId),
          value: voucherBytes(refusedId),
          headers: {},
        },
        "POSTING_FAILED",
        "refused for its content (the defect since fixed)",
      ),
    ]);

    // The CLI takes the reason now; a dry run sends nothing and marks nothing.
    const { stdout } = await exec(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "redrive", "--reason", "POSTING_FAILED", "--dry-run"],
      { env: deployment.env },
    );
    const dry = JSON.parse(stdout) as RedriveSummary;
    // (the dead-letter topic is shared: other tests' POSTING_FAILED dead letters may be planned too)
    const fromTable = (plan: RedriveSummary["plan"]) =>
      (plan ?? []).filter((p) => p.from.startsWith("finance.dead_letter#"));
    assert.deepEqual(
      fromTable(dry.plan).map((p) => [p.to, p.reason]),
      [[VOUCHER_TOPIC, "POSTING_FAILED"]],
    );
    const none = await readFrom(k.kafka, VOUCHER_TOPIC, voucherOffsets, () => false, 2_000);
    assert.equal(none.filter((r) => r.key?.toString() === merchantId).length, 0);

    const summary = await redriveCommand(["POSTING_FAILED"], deployment.env);
    assert.deepEqual(summary.to[VOUCHER_TOPIC], 1);
    // Once: the row is marked.
    const again = await redriveCommand(["POSTING_FAILED"], deployment.env, { dryRun: true });
    assert.equal(again.to[VOUCHER_TOPIC], undefined);

    const replay = await replayCommand({ migrate: false, progress: false }, deployment.env);
    assert.ok((replay.vouchersPosted.SALE_RECEIPT ?? 0) >= 1, JSON.stringify(replay));
    const key = sampleVoucher(refusedId, { merchantId }).idempotencyKey;
    assert.deepEqual(await bookedKeys(merchantId), [key]);
  });

  it("the sink keeps both dead letters that claim the same origin (the forged ones above); garbage is kept at its own place", async () => {
    const { rows } = await pool.query<{ n: string; places: string }>(
      `SELECT count(*)::text AS n, count(DISTINCT (dlq_partition, dlq_offset))::text AS places
       FROM finance.dead_letter WHERE from_dlq AND topic = $1 AND partition = 0 AND "offset" = 0`,
      [VOUCHER_TOPIC],
    );
    assert.deepEqual(rows, [{ n: "2", places: "2" }]);
    const garbage = await pool.query<{ topic: string; from_dlq: boolean }>(
      `SELECT topic, from_dlq FROM finance.dead_letter WHERE headers->>'__connect.errors.topic' LIKE '%garbage'`,
    );
    assert.deepEqual(garbage.rows, [{ topic: DLQ_TOPIC, from_dlq: true }]);
  });
});
