import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { DeadLetterRecord } from "../../src/deadletter/records.js";
import { insertDeadLetters } from "../../src/deadletter/store.js";
import { seededAccountsFor } from "../../src/domain/accounts.js";
import type { Voucher } from "../../src/domain/voucher.js";
import { TransientInfraError } from "../../src/errors.js";
import { money } from "../../src/money.js";
import { upsertAccounts } from "../../src/sinks/account-writer.js";
import { contentHash } from "../../src/sinks/content-hash.js";
import { inTransaction } from "../../src/sinks/db.js";
import { migrate } from "../../src/sinks/migrate.js";
import { isTransientPgError } from "../../src/sinks/pg-errors.js";
import { writeVoucherBatch } from "../../src/sinks/postgres-writer.js";
import { voucherJson } from "../../src/sinks/voucher-json.js";
import { log } from "../support/log.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";
import { sampleVoucher } from "../support/vouchers.js";

let db: ThrowawayDb;
let pool: pg.Pool;
before(async () => {
  db = await createThrowawayDb();
  pool = db.pool(8);
  await migrate(pool, log);
});
after(() => db.drop());

let seq = 0;
/** Ids unique across the file so tests never share keys. */
const uid = (label: string) => `${label}-${++seq}`;

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) q`, params);
  return rows[0]?.n ?? -1;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

const keysOf = (vs: Voucher[]) => vs.map((v) => v.idempotencyKey);
const voucherRows = (keys: string[]) =>
  count("SELECT 1 FROM finance.voucher WHERE idempotency_key = ANY($1)", [keys]);
const conflictRows = (key: string) =>
  count("SELECT 1 FROM finance.content_conflict WHERE idempotency_key = $1", [key]);
const lineRows = (keys: string[]) =>
  count(
    "SELECT 1 FROM finance.ledger_line l JOIN finance.voucher v USING (voucher_id) WHERE v.idempotency_key = ANY($1)",
    [keys],
  );

/** Vouchers whose lines do not balance to their amount; must always be empty. */
const UNBALANCED_SQL = `
  SELECT v.idempotency_key
  FROM finance.voucher v JOIN finance.ledger_line l USING (voucher_id)
  GROUP BY v.voucher_id
  HAVING count(*) < 2
    OR sum(l.amount) FILTER (WHERE l.side = 'DEBIT') IS DISTINCT FROM v.amount
    OR sum(l.amount) FILTER (WHERE l.side = 'CREDIT') IS DISTINCT FROM v.amount`;

describe("writeVoucherBatch", () => {
  it("lands exact voucher and ledger rows, counted per kind", async () => {
    const id = uid("exact");
    const receipt = sampleVoucher(id);
    const cogs: Voucher = {
      ...sampleVoucher(id, { kind: "SALE_COGS" }),
      type: "ADJUSTMENT",
      category: "COGS",
      party: { type: "NONE", id: null, name: null },
      source: { type: "SALE_ORDER", id, code: null },
    };
    const result = await writeVoucherBatch(pool, log, [receipt, cogs]);
    assert.deepEqual(result, {
      inserted: { SALE_RECEIPT: 1, SALE_COGS: 1 },
      replayed: {},
      conflicts: [],
      via: "copy",
    });

    const { rows } = await pool.query(
      `SELECT voucher_id, idempotency_key, merchant_id, type, kind, category, currency, amount::text,
        party_type, party_id, party_name_en, party_name_vi, reason_en, reason_vi, source_type, source_id,
        source_code, event_id, origin_topic, origin_partition, origin_offset::text, occurred_at, content_hash,
        posted_at > now() - interval '1 minute' AS posted_recently
       FROM finance.voucher WHERE idempotency_key = $1`,
      [receipt.idempotencyKey],
    );
    assert.deepEqual(rows, [
      {
        voucher_id: receipt.voucherId,
        idempotency_key: receipt.idempotencyKey,
        merchant_id: "m-1",
        type: "RECEIPT",
        kind: "SALE_RECEIPT",
        category: "SALE",
        currency: "VND",
        amount: "100000.7500",
        party_type: "CUSTOMER",
        party_id: `cust-${id}`,
        party_name_en: "Nguyen Van A",
        party_name_vi: "Nguyễn Văn A",
        reason_en: `Sale ${id}`,
        reason_vi: `Bán hàng ${id}`,
        source_type: "SALE_ORDER",
        source_id: id,
        source_code: `SO-${id}`,
        event_id: `evt-${id}`,
        origin_topic: "payment.success",
        origin_partition: 3,
        origin_offset: "42",
        occurred_at: new Date(Date.UTC(2024, 4, 17, 8, 30, 15, 123)),
        content_hash: contentHash(receipt),
        posted_recently: true,
      },
    ]);
    const cogsRow = await pool.query(
      "SELECT party_type, party_id, party_name_en, party_name_vi, source_code FROM finance.voucher WHERE voucher_id = $1",
      [cogs.voucherId],
    );
    assert.deepEqual(cogsRow.rows, [
      { party_type: "NONE", party_id: null, party_name_en: null, party_name_vi: null, source_code: null },
    ]);

    const lines = await pool.query(
      `SELECT line_no, account_id, account_code, side, amount::text FROM finance.ledger_line
       WHERE voucher_id = $1 ORDER BY line_no`,
      [receipt.voucherId],
    );
    assert.deepEqual(lines.rows, [
      { line_no: 1, account_id: "cash-m-1", account_code: "CASH", side: "DEBIT", amount: "100000.7500" },
      {
        line_no: 2,
        account_id: "rev-m-1",
        account_code: "SALES_REVENUE",
        side: "CREDIT",
        amount: "100000.5000",
      },
      {
        line_no: 3,
        account_id: "chg-m-1",
        account_code: "CHANGE_CLEARING",
        side: "CREDIT",
        amount: "0.2500",
      },
    ]);
    assert.equal(await lineRows(keysOf([receipt, cogs])), 6);
  });

  it("writes a second copy of a batch as replays: zero new rows", async () => {
    const batch = [sampleVoucher(uid("again")), sampleVoucher(uid("again"), { kind: "SALE_COGS" })];
    await writeVoucherBatch(pool, log, batch);
    const keys = keysOf(batch);
    const result = await writeVoucherBatch(pool, log, batch);
    assert.deepEqual(result, {
      inserted: {},
      replayed: { SALE_RECEIPT: 1, SALE_COGS: 1 },
      conflicts: [],
      via: "copy",
    });
    assert.equal(await voucherRows(keys), 2);
    assert.equal(await lineRows(keys), 6);
  });

  it("counts a redelivery inside one batch as a replay and stores one row", async () => {
    const v = sampleVoucher(uid("dup"));
    const redelivered = { ...sampleVoucher(v.source.id), origin: { ...v.origin, offset: 43 } };
    const result = await writeVoucherBatch(pool, log, [v, redelivered, v]);
    assert.deepEqual(result, {
      inserted: { SALE_RECEIPT: 1 },
      replayed: { SALE_RECEIPT: 2 },
      conflicts: [],
      via: "copy",
    });
    assert.equal(await voucherRows([v.idempotencyKey]), 1);
    assert.equal(await lineRows([v.idempotencyKey]), 3);
  });

  it("treats a copy that differs only in origin as a replay, not a conflict", async () => {
    const v = sampleVoucher(uid("origin"));
    await writeVoucherBatch(pool, log, [v]);
    const republished = {
      ...v,
      origin: { eventId: "evt-republished", topic: "payment.success", partition: 0, offset: 9 },
    };
    const result = await writeVoucherBatch(pool, log, [republished]);
    assert.deepEqual(result, { inserted: {}, replayed: { SALE_RECEIPT: 1 }, conflicts: [], via: "copy" });
    const { rows } = await pool.query("SELECT event_id FROM finance.voucher WHERE voucher_id = $1", [
      v.voucherId,
    ]);
    assert.deepEqual(rows, [{ event_id: v.origin.eventId }]);
  });

  it("treats an upstream re-publication (new eventId, new occurredAt, same facts) as a replay", async () => {
    const v = sampleVoucher(uid("republished"));
    await writeVoucherBatch(pool, log, [v]);
    const republished = {
      ...v,
      occurredAt: v.occurredAt + 3_600_000,
      origin: { eventId: "evt-new", topic: "payment.success", partition: 1, offset: 99 },
    };
    const result = await writeVoucherBatch(pool, log, [republished]);
    assert.deepEqual(result, { inserted: {}, replayed: { SALE_RECEIPT: 1 }, conflicts: [], via: "copy" });
    assert.equal(await conflictRows(v.idempotencyKey), 0);
  });

  it("upgrades a database booked with the legacy hash layout without false conflicts", async () => {
    // As a version before this one booked it: its hash covered occurredAt and had no prefix.
    const v = sampleVoucher(uid("legacy"));
    await writeVoucherBatch(pool, log, [v]);
    await pool.query("UPDATE finance.voucher SET content_hash = $2 WHERE voucher_id = $1", [
      v.voucherId,
      "0".repeat(64),
    ]);
    const republished = {
      ...v,
      occurredAt: v.occurredAt + 60_000,
      origin: { eventId: "evt-again", topic: "payment.success", partition: 2, offset: 5 },
    };
    const result = await writeVoucherBatch(pool, log, [republished]);
    assert.deepEqual(result, { inserted: {}, replayed: { SALE_RECEIPT: 1 }, conflicts: [], via: "staging" });
    assert.equal(await conflictRows(v.idempotencyKey), 0);
    const { rows } = await pool.query("SELECT content_hash FROM finance.voucher WHERE voucher_id = $1", [
      v.voucherId,
    ]);
    assert.deepEqual(rows, [{ content_hash: contentHash(v) }], "the stored hash is upgraded once compared");

    // A really different copy of a legacy-hashed voucher is still a conflict.
    const other = sampleVoucher(uid("legacy-conflict"));
    await writeVoucherBatch(pool, log, [other]);
    await pool.query("UPDATE finance.voucher SET content_hash = $2 WHERE voucher_id = $1", [
      other.voucherId,
      "f".repeat(64),
    ]);
    const changed = sampleVoucher(other.source.id, { revenue: "1" });
    const conflict = await writeVoucherBatch(pool, log, [changed]);
    assert.equal(conflict.conflicts.length, 1);
    assert.deepEqual(conflict.replayed, {});
  });

  it("keeps the stored voucher when a copy has different content, and records the conflict once", async () => {
    const id = uid("conflict");
    const original = sampleVoucher(id);
    const changed = sampleVoucher(id, { revenue: "999" });
    await writeVoucherBatch(pool, log, [original]);

    const result = await writeVoucherBatch(pool, log, [changed]);
    assert.deepEqual(result.inserted, {});
    assert.equal(
      result.via,
      "staging",
      "a copy that differs from the stored one is recorded by the staging path",
    );
    assert.deepEqual(result.replayed, {}, "a conflict is counted as a conflict, not also as a replay");
    assert.equal(result.conflicts.length, 1);
    const [c] = result.conflicts;
    assert.equal(c?.key, original.idempotencyKey);
    assert.equal(c?.storedHash, contentHash(original));
    assert.equal(c?.incomingHash, contentHash(changed));
    assert.deepEqual(c?.incoming, voucherJson(changed));
    assert.equal(c?.stored.amount, "100000.7500");
    assert.equal(c?.stored.occurredAt, original.occurredAt);
    assert.deepEqual(
      c?.stored.lines.map((l) => [l.lineNo, l.side, l.amount]),
      [
        [1, "DEBIT", "100000.7500"],
        [2, "CREDIT", "100000.5000"],
        [3, "CREDIT", "0.2500"],
      ],
    );

    const stored = await pool.query("SELECT amount::text FROM finance.voucher WHERE voucher_id = $1", [
      original.voucherId,
    ]);
    assert.deepEqual(stored.rows, [{ amount: "100000.7500" }]);
    const lines = await pool.query(
      "SELECT sum(amount)::text AS s FROM finance.ledger_line WHERE voucher_id = $1",
      [original.voucherId],
    );
    assert.deepEqual(lines.rows, [{ s: "200001.5000" }]);

    await writeVoucherBatch(pool, log, [changed]);
    const recorded = await pool.query(
      `SELECT stored_hash, incoming_hash, occurrences, incoming->>'amount' AS incoming_amount,
        stored->>'amount' AS stored_amount FROM finance.content_conflict WHERE idempotency_key = $1`,
      [original.idempotencyKey],
    );
    assert.deepEqual(recorded.rows, [
      {
        stored_hash: contentHash(original),
        incoming_hash: contentHash(changed),
        occurrences: 2,
        incoming_amount: "999.2500",
        stored_amount: "100000.7500",
      },
    ]);
  });

  it("lets the first copy win a conflict inside one batch", async () => {
    const id = uid("dupconflict");
    const first = sampleVoucher(id, { change: "1" });
    const second = sampleVoucher(id, { change: "2" });
    const result = await writeVoucherBatch(pool, log, [first, second]);
    assert.deepEqual(result.inserted, { SALE_RECEIPT: 1 });
    assert.equal(result.via, "staging", "so is one that differs from an earlier copy in the batch");
    assert.deepEqual(result.replayed, {});
    assert.deepEqual(
      result.conflicts.map((c) => [c.storedHash, c.incomingHash, c.stored.amount]),
      [[contentHash(first), contentHash(second), "100001.5000"]],
    );
    const { rows } = await pool.query("SELECT amount::text FROM finance.voucher WHERE voucher_id = $1", [
      first.voucherId,
    ]);
    assert.deepEqual(rows, [{ amount: "100001.5000" }]);
    assert.equal(await lineRows([first.idempotencyKey]), 3);
  });

  it("COPYs new vouchers straight in and finds the replays among them by a probe", async () => {
    const fresh = [sampleVoucher(uid("direct")), sampleVoucher(uid("direct"))];
    const first = await writeVoucherBatch(pool, log, fresh);
    assert.deepEqual(first, { inserted: { SALE_RECEIPT: 2 }, replayed: {}, conflicts: [], via: "copy" });
    // a redelivery overlapping new vouchers, one of them twice
    const again = sampleVoucher(uid("direct"));
    const mixed = [again, fresh[1] as Voucher, sampleVoucher(uid("direct")), again];
    const second = await writeVoucherBatch(pool, log, mixed);
    assert.deepEqual(second, {
      inserted: { SALE_RECEIPT: 2 },
      replayed: { SALE_RECEIPT: 2 },
      conflicts: [],
      via: "copy",
    });
    const keys = keysOf([...fresh, ...mixed]);
    assert.equal(await voucherRows(keys), 4);
    assert.equal(await lineRows(keys), 12, "3 lines each, once");
  });

  it("falls back to staging when another writer stores a key between the probe and the COPY", async () => {
    const contested = sampleVoucher(uid("contested"));
    const other = sampleVoucher(uid("contested"));
    const rival = await pool.connect();
    try {
      // another instance's write, not committed yet: the probe cannot see it, the COPY waits on it
      await rival.query("BEGIN");
      await rival.query(
        `INSERT INTO finance.voucher (voucher_id, idempotency_key, merchant_id, type, kind, category,
           currency, amount, party_type, reason_en, reason_vi, source_type, source_id, event_id,
           origin_topic, origin_partition, origin_offset, occurred_at, content_hash)
         VALUES ($1, $2, 'm', 'RECEIPT', 'SALE_RECEIPT', 'SALE', 'VND', 1, 'NONE', 'r', 'r',
           'SALE_ORDER', 's', 'e', 't', 0, 0, now(), $3)`,
        [contested.voucherId, contested.idempotencyKey, contentHash(contested)],
      );
      const writing = writeVoucherBatch(pool, log, [other, contested]);
      await waitFor(
        async () => (await count("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")) > 0,
      );
      await rival.query("COMMIT");
      assert.deepEqual(await writing, {
        inserted: { SALE_RECEIPT: 1 },
        replayed: { SALE_RECEIPT: 1 },
        conflicts: [],
        via: "staging",
      });
    } finally {
      rival.release();
    }
    assert.equal(await voucherRows(keysOf([contested, other])), 2);
    assert.equal(await lineRows([other.idempotencyKey]), 3, "the rolled-back COPY left no lines behind");
  });

  it("books each key once when writers with overlapping batches race (a rebalance)", async () => {
    const shared = Array.from({ length: 40 }, () => sampleVoucher(uid("race")));
    const batches = Array.from({ length: 4 }, (_, i) => [
      ...shared.slice(i * 5, i * 5 + 25),
      sampleVoucher(uid("race")),
    ]);
    const results = await Promise.all(batches.map((b) => writeVoucherBatch(pool, log, b)));
    const inserted = results.reduce((n, r) => n + (r.inserted.SALE_RECEIPT ?? 0), 0);
    const replayed = results.reduce((n, r) => n + (r.replayed.SALE_RECEIPT ?? 0), 0);
    const keys = [...new Set(batches.flat().map((v) => v.idempotencyKey))];
    assert.equal(inserted, keys.length, "every distinct key booked by exactly one writer");
    assert.equal(replayed, batches.flat().length - keys.length);
    assert.equal(await voucherRows(keys), keys.length);
    assert.equal(await lineRows(keys), 3 * keys.length);
    assert.ok(results.every((r) => r.conflicts.length === 0));
  });

  it("carries tabs, newlines, backslashes, COPY markers and Vietnamese text through COPY unchanged", async () => {
    const nasty = [
      "tab\there",
      "line\nbreak\r\nwindows",
      "back\\slash \\N \\t",
      "\\.",
      "\\",
      "Khách lẻ — Đặng Thị Ẩn 🧾",
    ];
    const v = sampleVoucher(uid("text"));
    v.party.name = { en: nasty.join("|"), vi: nasty[5] as string };
    v.reason = { en: nasty[2] as string, vi: nasty[1] as string };
    v.source.code = nasty[3] as string;
    (v.lines[0] as Voucher["lines"][number]).accountCode = nasty[0] as string;
    const result = await writeVoucherBatch(pool, log, [v]);
    assert.deepEqual(result.inserted, { SALE_RECEIPT: 1 });
    const { rows } = await pool.query(
      `SELECT party_name_en, party_name_vi, reason_en, reason_vi, source_code,
        (SELECT account_code FROM finance.ledger_line WHERE voucher_id = v.voucher_id AND line_no = 1)
       FROM finance.voucher v WHERE voucher_id = $1`,
      [v.voucherId],
    );
    assert.deepEqual(rows, [
      {
        party_name_en: nasty.join("|"),
        party_name_vi: nasty[5],
        reason_en: nasty[2],
        reason_vi: nasty[1],
        source_code: nasty[3],
        account_code: nasty[0],
      },
    ]);
    // and the stored hash matches, so the same voucher replays instead of conflicting
    assert.deepEqual((await writeVoucherBatch(pool, log, [v])).conflicts, []);
  });

  it("stores 4-place and numeric(19,4)-limit amounts exactly", async () => {
    const tiny = sampleVoucher(uid("tiny"), { revenue: "0.0001", change: "0.0002" });
    const huge = sampleVoucher(uid("huge"), { revenue: "999999999999999.9998", change: "0.0001" });
    await writeVoucherBatch(pool, log, [tiny, huge]);
    const { rows } = await pool.query(
      `SELECT v.amount::text, array_agg(l.amount::text ORDER BY l.line_no) AS lines
       FROM finance.voucher v JOIN finance.ledger_line l USING (voucher_id)
       WHERE v.voucher_id = ANY($1) GROUP BY v.voucher_id, v.amount ORDER BY v.amount`,
      [[tiny.voucherId, huge.voucherId]],
    );
    assert.deepEqual(rows, [
      { amount: "0.0003", lines: ["0.0003", "0.0001", "0.0002"] },
      {
        amount: "999999999999999.9999",
        lines: ["999999999999999.9999", "999999999999999.9998", "0.0001"],
      },
    ]);
    // "1" and "1.0000" are the same money: a replay, not a conflict
    const again = sampleVoucher(tiny.source.id, { revenue: "0.00010", change: "0.000200" });
    assert.deepEqual(await writeVoucherBatch(pool, log, [again]), {
      inserted: {},
      replayed: { SALE_RECEIPT: 1 },
      conflicts: [],
      via: "copy",
    });
  });

  it("refuses an unbalanced voucher or an amount numeric(19,4) would round, before writing anything", async () => {
    const good = sampleVoucher(uid("refused"));
    const unbalanced = sampleVoucher(uid("refused"));
    (unbalanced.lines[2] as Voucher["lines"][number]).amount = money("0.26");
    await assert.rejects(
      writeVoucherBatch(pool, log, [good, unbalanced]),
      /cannot be booked: debits .* != credits/,
    );
    const rounded = sampleVoucher(uid("refused"), { revenue: "1.00005", change: "0" });
    await assert.rejects(writeVoucherBatch(pool, log, [good, rounded]), /more than 4 decimal places/);
    assert.equal(await voucherRows([good.idempotencyKey]), 0);
  });

  it("writes the whole batch or nothing: a constraint violation rolls everything back and is not transient", async () => {
    const good = sampleVoucher(uid("atomic"));
    const bad = { ...sampleVoucher(uid("atomic")), type: "REFUND" } as unknown as Voucher;
    const error = await writeVoucherBatch(pool, log, [good, bad]).catch((e: unknown) => e);
    assert.equal((error as { code?: string }).code, "23514");
    assert.ok(!(error instanceof TransientInfraError));
    assert.equal(await voucherRows(keysOf([good, bad])), 0);
    // the connection is still usable and the staging tables are empty again
    assert.deepEqual((await writeVoucherBatch(pool, log, [good])).inserted, { SALE_RECEIPT: 1 });
    assert.equal(await lineRows([good.idempotencyKey]), 3);
  });

  it("accepts an idle client instead of a pool", async () => {
    const client = await pool.connect();
    try {
      const v = sampleVoucher(uid("client"));
      assert.deepEqual((await writeVoucherBatch(client, log, [v])).inserted, { SALE_RECEIPT: 1 });
      assert.deepEqual((await writeVoucherBatch(client, log, [v])).replayed, { SALE_RECEIPT: 1 });
    } finally {
      client.release();
    }
  });

  it("leaves every voucher balanced in SQL: debits = credits = amount", async () => {
    assert.ok((await count("SELECT 1 FROM finance.voucher")) > 10);
    assert.deepEqual((await pool.query(UNBALANCED_SQL)).rows, []);
  });

  it("reports vouchers/s for batches of 1k and 5k (3 lines each)", async (t) => {
    for (const size of [1_000, 5_000]) {
      const run = uid("perf");
      const batch = Array.from({ length: size }, (_, i) =>
        sampleVoucher(`${run}-${i}`, { merchantId: `m-${i % 50}` }),
      );
      let started = performance.now();
      const fresh = await writeVoucherBatch(pool, log, batch);
      const insertMs = performance.now() - started;
      started = performance.now();
      const replay = await writeVoucherBatch(pool, log, batch);
      const replayMs = performance.now() - started;
      assert.equal(fresh.inserted.SALE_RECEIPT, size);
      assert.equal(replay.replayed.SALE_RECEIPT, size);
      const rate = (ms: number) => Math.round((size / ms) * 1000);
      t.diagnostic(
        `batch ${size}: new ${insertMs.toFixed(0)} ms (${rate(insertMs)} vouchers/s), ` +
          `replay ${replayMs.toFixed(0)} ms (${rate(replayMs)} vouchers/s)`,
      );
      // generous bound: catches row-at-a-time regressions, not scheduler noise
      assert.ok(insertMs < 5_000, `a batch of ${size} took ${insertMs} ms`);
    }
  });

  it("turns a lost connection into a TransientInfraError", async () => {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", () => {});
    await client.connect();
    const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
    await pool.query("SELECT pg_terminate_backend($1)", [pid]);
    await assert.rejects(
      writeVoucherBatch(client as unknown as pg.PoolClient, log, [sampleVoucher(uid("lost"))]),
      TransientInfraError,
    );
    await client.end().catch(() => {});

    const unreachable = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:1/postgres" });
    await assert.rejects(
      writeVoucherBatch(unreachable, log, [sampleVoucher(uid("lost"))]),
      TransientInfraError,
    );
    await unreachable.end();
  });

  it("survives the server dropping a pool client mid-transaction (a Postgres restart): transient, no crash", async () => {
    // Without an 'error' listener on the checked-out client this is an unhandled 'error' event,
    // which ends the process (seen when the chaos suite restarted Postgres).
    const own = new pg.Pool({ connectionString: db.url, max: 1 });
    own.on("error", () => {});
    const killed = inTransaction(own, "sleepy work", async (client) => {
      const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await pool.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
      await client.query("SELECT pg_sleep(1)");
    });
    await assert.rejects(killed, TransientInfraError);
    await sleep(200); // the socket's 'error' event arrives after the failed query
    const { rows } = await own.query<{ one: number }>("SELECT 1 AS one");
    assert.deepEqual(rows, [{ one: 1 }], "the broken client was destroyed, not handed out again");
    await own.end();
  });
});

describe("isTransientPgError", () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  it("retries connection, shutdown and concurrency failures", () => {
    for (const code of ["08006", "08001", "57P01", "57P03", "40001", "40P01", "ECONNREFUSED"]) {
      assert.equal(isTransientPgError(withCode(code)), true, code);
    }
    assert.equal(isTransientPgError(new Error("Connection terminated unexpectedly")), true);
  });
  it("treats constraint violations and other errors as bugs", () => {
    for (const code of ["23505", "23514", "23503", "42P01", "22003"]) {
      assert.equal(isTransientPgError(withCode(code)), false, code);
    }
    assert.equal(isTransientPgError("08006"), false);
  });
});

describe("upsertAccounts", () => {
  it("inserts seeded accounts once; re-seeding changes nothing", async () => {
    const accounts = seededAccountsFor(uid("merchant"));
    assert.equal(await upsertAccounts(pool, accounts, "insertMissing"), 7);
    assert.equal(await upsertAccounts(pool, accounts, "insertMissing"), 0);
    assert.equal(await upsertAccounts(pool, accounts), 0);
    const { rows } = await pool.query(
      "SELECT code, name_vi, type, status FROM finance.account WHERE merchant_id = $1 ORDER BY code",
      [accounts[0]?.merchantId],
    );
    assert.equal(rows.length, 7);
    assert.deepEqual(rows[0], {
      code: "ACCOUNTS_PAYABLE",
      name_vi: "Phải trả nhà cung cấp",
      type: "CONTROL",
      status: "ACTIVE",
    });
  });

  it("updates only rows that changed, keeps the last version of a repeated id, and never reverts on re-seed", async () => {
    const merchantId = uid("merchant");
    const [cash, revenue] = seededAccountsFor(merchantId);
    assert.ok(cash && revenue);
    await upsertAccounts(pool, [cash, revenue]);
    const stamp = async () =>
      (
        await pool.query(
          "SELECT account_id, updated_at FROM finance.account WHERE merchant_id = $1 ORDER BY 1",
          [merchantId],
        )
      ).rows;
    const before = await stamp();

    const renamed = { ...cash, name: { en: "Till 1", vi: "Quầy 1" } };
    const archived = { ...renamed, status: "ARCHIVED" };
    assert.equal(await upsertAccounts(pool, [renamed, revenue, archived]), 1);
    const after = await stamp();
    assert.deepEqual(
      after.find((r) => r.account_id === revenue.id),
      before.find((r) => r.account_id === revenue.id),
    );

    assert.equal(await upsertAccounts(pool, [cash], "insertMissing"), 0);
    const { rows } = await pool.query(
      "SELECT name_en, name_vi, status FROM finance.account WHERE account_id = $1",
      [cash.id],
    );
    assert.deepEqual(rows, [{ name_en: "Till 1", name_vi: "Quầy 1", status: "ARCHIVED" }]);
  });
});

describe("insertDeadLetters", () => {
  it("stores key, value and headers byte for byte, once per topic/partition/offset", async () => {
    const topic = uid("payment.success");
    const value = Buffer.from([0, 0, 0, 0, 1, 0xff, 0x00, 0x5c, 0x09]);
    const records: DeadLetterRecord[] = [
      {
        topic,
        partition: 2,
        offset: "9007199254740993",
        key: Buffer.from("so-1"),
        value,
        headers: { "finance.dlq.reason": "UNDECODABLE", "x-nul": "a\u0000b", "x-vi": "lỗi" },
        reason: "UNDECODABLE",
        error: "unknown magic byte",
      },
      {
        topic,
        partition: 2,
        offset: 10,
        key: null,
        value: null,
        headers: {},
        reason: "INVALID_PAYLOAD",
        error: "e",
      },
    ];
    assert.equal(await insertDeadLetters(pool, records), 2);
    assert.equal(await insertDeadLetters(pool, [...records, records[0] as DeadLetterRecord]), 0);
    const { rows } = await pool.query(
      `SELECT "offset"::text, key, value, headers, reason, error FROM finance.dead_letter
       WHERE topic = $1 ORDER BY "offset"`,
      [topic],
    );
    assert.deepEqual(rows, [
      { offset: "10", key: null, value: null, headers: {}, reason: "INVALID_PAYLOAD", error: "e" },
      {
        offset: "9007199254740993",
        key: Buffer.from("so-1"),
        value,
        headers: { "finance.dlq.reason": "UNDECODABLE", "x-nul": "a\uFFFDb", "x-vi": "lỗi" },
        reason: "UNDECODABLE",
        error: "unknown magic byte",
      },
    ]);
  });
});
