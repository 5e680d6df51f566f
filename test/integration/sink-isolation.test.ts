import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import type { SourceRecord } from "../../src/deadletter/records.js";
import type { Account } from "../../src/domain/accounts.js";
import type { Voucher } from "../../src/domain/voucher.js";
import { TransientInfraError } from "../../src/errors.js";
import { migrate } from "../../src/sinks/migrate.js";
import { flushSinkWork, type SinkWork, voucherWork } from "../../src/sinks/sink-flush.js";
import { voucherJson } from "../../src/sinks/voucher-json.js";
import { CDC_TOPICS, DLQ_TOPIC, VOUCHER_TOPIC } from "../../src/topics.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";
import { refusedVouchers, sampleVoucher } from "../support/vouchers.js";

let db: ThrowawayDb;
let pool: pg.Pool;
before(async () => {
  db = await createThrowawayDb();
  pool = db.pool(4);
  await migrate(pool, log);
});
after(() => db.drop());

let seq = 0;
const uid = (label: string) => `${label}-${++seq}`;

/** A consumed record at a unique place, with bytes and headers to recognise it by. */
function sourceAt(topic: string, partition: number, offset: number): SourceRecord {
  const tag = `${topic}/${partition}/${offset}`;
  return {
    topic,
    partition,
    offset: String(offset),
    key: Buffer.from(`key ${tag}`),
    value: Buffer.from([0, 0, 0, 0, 7, 0xff, offset % 256]),
    headers: { "x-trace": Buffer.from(`trace ${tag}`) },
  };
}

let nextOffset = 1_000;
const workOf = (voucher: Voucher): SinkWork =>
  voucherWork(voucherJson(voucher), sourceAt(VOUCHER_TOPIC, nextOffset % 3, nextOffset++));

const deadLettersAt = async (sources: SourceRecord[]) =>
  (
    await pool.query(
      `SELECT topic, partition, "offset"::text, key, value, headers, reason, error FROM finance.dead_letter
       WHERE (topic, partition, "offset") IN (SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]))
       ORDER BY "offset"`,
      [sources.map((s) => s.topic), sources.map((s) => s.partition), sources.map((s) => s.offset)],
    )
  ).rows;

const bookedKeys = async (vouchers: Voucher[]) =>
  (
    await pool.query<{ idempotency_key: string; lines: number }>(
      `SELECT v.idempotency_key, (SELECT count(*)::int FROM finance.ledger_line l WHERE l.voucher_id = v.voucher_id) AS lines
       FROM finance.voucher v WHERE idempotency_key = ANY($1)`,
      [vouchers.map((v) => v.idempotencyKey)],
    )
  ).rows;

const postingFailures = async (topic: string) =>
  (await metrics.deadLetters.get()).values.find(
    (v) => v.labels.topic === topic && v.labels.reason === "POSTING_FAILED",
  )?.value ?? 0;

describe("sink flush: a record Postgres refuses for its content never stalls the rest", () => {
  it("books every other voucher of a 500-voucher flush once and dead-letters the refused ones as they arrived", async () => {
    const run = uid("batch");
    const good = Array.from({ length: 495 }, (_, i) =>
      sampleVoucher(`${run}-${i}`, { merchantId: `m-${i % 7}` }),
    );
    const bad = Object.values(refusedVouchers(run));
    const work = good.map(workOf);
    const badWork = bad.map((b) => workOf(b.voucher));
    // spread the refused ones through the batch
    badWork.forEach((w, i) => {
      work.splice(i * 100 + 37, 0, w);
    });
    const before = await postingFailures(VOUCHER_TOPIC);

    assert.equal((await flushSinkWork(pool, { log, metrics }, work)).refused, bad.length);

    const booked = await bookedKeys(good);
    assert.equal(booked.length, good.length);
    assert.ok(booked.every((r) => r.lines === 3));
    assert.deepEqual(await bookedKeys(bad.map((b) => b.voucher)), []);
    const refusedSources = badWork.map((w) => w.source);
    const letters = await deadLettersAt(refusedSources);
    assert.equal(letters.length, bad.length);
    for (const [i, source] of refusedSources.entries()) {
      assert.ok(source);
      const row = letters.find((r) => r.offset === source.offset);
      assert.deepEqual(
        { ...row, error: undefined },
        {
          topic: VOUCHER_TOPIC,
          partition: source.partition,
          offset: source.offset,
          key: source.key,
          value: source.value,
          headers: { "x-trace": String(source.headers["x-trace"]) },
          reason: "POSTING_FAILED",
          error: undefined,
        },
      );
      assert.match(row?.error, bad[i]?.error as RegExp);
    }
    assert.equal((await postingFailures(VOUCHER_TOPIC)) - before, bad.length);

    // redelivered after a crash: the same outcome, nothing twice
    assert.equal((await flushSinkWork(pool, { log, metrics }, work)).refused, bad.length);
    assert.equal((await bookedKeys(good)).length, good.length);
    assert.equal((await deadLettersAt(refusedSources as SourceRecord[])).length, bad.length);
  });

  it("isolates account rows and dead letters too, each dead-lettered at its own Kafka place", async () => {
    const merchantId = uid("merchant");
    const account = (id: string, en: string): Account => ({
      id,
      merchantId,
      code: null,
      name: { en, vi: en },
      type: "MONEY",
      status: "ACTIVE",
    });
    const accountSource = sourceAt(CDC_TOPICS.financeAccount, 1, nextOffset++);
    const badAccountSource = sourceAt(CDC_TOPICS.financeAccount, 1, nextOffset++);
    const hostileSource = sourceAt(DLQ_TOPIC, 2, nextOffset++);
    const fineSource = sourceAt(DLQ_TOPIC, 2, nextOffset++);
    const deadLetter = (source: SourceRecord, topic: string): SinkWork => ({
      kind: "deadLetter",
      source,
      record: { ...sourceAt(topic, 0, 5), headers: {}, reason: "INVALID_PAYLOAD", error: "bad amount" },
    });
    const work: SinkWork[] = [
      {
        kind: "account",
        mode: "replace",
        account: account(`${merchantId}-ok`, "Till"),
        source: accountSource,
      },
      {
        kind: "account",
        mode: "replace",
        account: account(`${merchantId}-nul`, "Till\u0000"),
        source: badAccountSource,
      },
      // an origin topic header too long for the unique index: refused, kept at the DLQ record's place
      deadLetter(hostileSource, randomBytes(50_000).toString("hex")),
      deadLetter(fineSource, uid("payment.success")),
    ];
    assert.equal((await flushSinkWork(pool, { log, metrics }, work)).refused, 2);

    const { rows } = await pool.query("SELECT account_id FROM finance.account WHERE merchant_id = $1", [
      merchantId,
    ]);
    assert.deepEqual(rows, [{ account_id: `${merchantId}-ok` }]);
    const letters = await deadLettersAt([badAccountSource, hostileSource]);
    assert.deepEqual(
      letters.map((r) => [r.topic, r.reason, r.key]),
      [
        [CDC_TOPICS.financeAccount, "POSTING_FAILED", badAccountSource.key],
        [DLQ_TOPIC, "POSTING_FAILED", hostileSource.key],
      ],
    );
    const fine = work[3] as Extract<SinkWork, { kind: "deadLetter" }>;
    assert.equal((await deadLettersAt([{ ...fineSource, ...fine.record, offset: "5" }])).length, 1);
  });

  it("gives up on a dead letter Postgres refuses too: logged, never retried forever", async () => {
    const poison = sampleVoucher(uid("poison"));
    const poisonWork: SinkWork = { ...workOf({ ...poison, type: "REFUND" } as unknown as Voucher) };
    poisonWork.source.key = Buffer.from("poison");
    // stands in for any content refusal of the dead-letter row itself
    await pool.query(
      "ALTER TABLE finance.dead_letter ADD CONSTRAINT test_no_poison CHECK (key IS DISTINCT FROM 'poison'::bytea)",
    );
    try {
      const fine = sampleVoucher(uid("beside-poison"));
      assert.equal((await flushSinkWork(pool, { log, metrics }, [poisonWork, workOf(fine)])).refused, 1);
      assert.equal((await bookedKeys([fine])).length, 1);
      assert.deepEqual(await deadLettersAt([poisonWork.source]), []);
    } finally {
      await pool.query("ALTER TABLE finance.dead_letter DROP CONSTRAINT test_no_poison");
    }
  });

  it("throws an outage or a broken deployment instead of dead-lettering anything", async () => {
    const work = [
      workOf(sampleVoucher(uid("outage"))),
      ...Object.values(refusedVouchers(uid("outage"))).map((b) => workOf(b.voucher)),
    ];

    const closed = new pg.Pool({ connectionString: db.url, max: 1 });
    await closed.end();
    await assert.rejects(flushSinkWork(closed, { log, metrics }, work), /pool after calling end/);
    const unreachable = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:1/postgres", max: 1 });
    await assert.rejects(flushSinkWork(unreachable, { log, metrics }, work), TransientInfraError);
    await unreachable.end();

    const broken = await createThrowawayDb();
    try {
      const brokenPool = broken.pool(2);
      await migrate(brokenPool, log);
      await brokenPool.query("ALTER TABLE finance.ledger_line RENAME TO ledger_line_moved");
      await assert.rejects(
        flushSinkWork(brokenPool, { log, metrics }, work),
        (e: { code?: string }) => e.code === "42P01",
      );
      const { rows } = await brokenPool.query("SELECT count(*)::int AS n FROM finance.dead_letter");
      assert.deepEqual(rows, [{ n: 0 }]);
    } finally {
      await broken.drop();
    }

    const gone = await createThrowawayDb();
    await migrate(gone.pool(1), log);
    await gone.drop();
    const gonePool = new pg.Pool({ connectionString: gone.url, max: 1 });
    try {
      const error = await flushSinkWork(gonePool, { log, metrics }, work).catch((e: unknown) => e);
      assert.ok(error instanceof Error, "a flush against a dropped database must fail");
      assert.ok(
        error instanceof TransientInfraError || (error as { code?: string }).code === "3D000",
        String(error),
      );
    } finally {
      await gonePool.end();
    }
  });
});
