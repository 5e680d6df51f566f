import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { migrate } from "../../src/sinks/migrate.js";
import { MIGRATIONS, type Migration } from "../../src/sinks/migrations/index.js";
import { log } from "../support/log.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

const dbs: ThrowawayDb[] = [];
async function freshDb(): Promise<ThrowawayDb> {
  const db = await createThrowawayDb();
  dbs.push(db);
  return db;
}
after(async () => {
  await Promise.all(dbs.map((db) => db.drop()));
});

async function financeTables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'finance' ORDER BY table_name",
  );
  return rows.map((r) => r.table_name);
}

/** Every version this build knows, in order: what a fresh database gets. */
const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);

async function versions(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ version: number }>(
    "SELECT version FROM finance.schema_migrations ORDER BY 1",
  );
  return rows.map((r) => r.version);
}

describe("migrate", () => {
  it("creates the schema once and is a no-op the second time", async () => {
    const pool = (await freshDb()).pool();
    assert.deepEqual(await migrate(pool, log), { applied: ALL_VERSIONS });
    const tables = await financeTables(pool);
    assert.deepEqual(tables, [
      "account",
      "content_conflict",
      "dead_letter",
      "ledger_line",
      "reference_version",
      "schema_migrations",
      "voucher",
    ]);
    assert.deepEqual(await migrate(pool, log), { applied: [] });
    assert.deepEqual(await financeTables(pool), tables);
    assert.deepEqual(await versions(pool), ALL_VERSIONS);
  });

  it("lets concurrent instances take turns: one applies, the others find it done", async () => {
    const db = await freshDb();
    const results = await Promise.all(
      [db.pool(1), db.pool(1), db.pool(1), db.pool(1)].map((p) => migrate(p, log)),
    );
    assert.deepEqual(
      results.map((r) => r.applied.length).sort(),
      [0, 0, 0, ALL_VERSIONS.length],
      "one instance applied every version",
    );
    assert.deepEqual(results.find((r) => r.applied.length > 0)?.applied, ALL_VERSIONS);
    const pool = db.pool();
    assert.deepEqual(await versions(pool), ALL_VERSIONS);
  });

  it("commits each migration on its own: a failure keeps earlier versions and rolls back its own DDL", async () => {
    const pool = (await freshDb()).pool();
    const first: Migration = { version: 1, name: "one", sql: "CREATE TABLE finance.t1 (id int)" };
    const broken: Migration = {
      version: 2,
      name: "two",
      sql: "CREATE TABLE finance.t2 (id int); SELECT 1/0",
    };
    await assert.rejects(migrate(pool, log, [first, broken]), /migration 2 \(two\) failed: division by zero/);
    assert.deepEqual(await versions(pool), [1]);
    assert.deepEqual(await financeTables(pool), ["schema_migrations", "t1"]);

    const fixed: Migration = { ...broken, sql: "CREATE TABLE finance.t2 (id int)" };
    assert.deepEqual(await migrate(pool, log, [first, fixed]), { applied: [2] });
    assert.deepEqual(await versions(pool), [1, 2]);
    // the advisory lock was released on failure too, or this second run would have hung
  });

  it("refuses migrations that are not in ascending version order", async () => {
    const pool = (await freshDb()).pool();
    const m = (version: number): Migration => ({ version, name: `m${version}`, sql: "SELECT 1" });
    await assert.rejects(migrate(pool, log, [m(2), m(1)]), /ascending/);
    await assert.rejects(migrate(pool, log, [m(1), m(1)]), /ascending/);
  });
});

describe("schema constraints", () => {
  let pool: pg.Pool;
  const VOUCHER_ID = "00000000-0000-4000-8000-000000000001";

  before(async () => {
    pool = (await freshDb()).pool();
    await migrate(pool, log);
    await insertVoucher({});
  });

  function insertVoucher(over: Record<string, unknown>): Promise<unknown> {
    const row: Record<string, unknown> = {
      voucher_id: VOUCHER_ID,
      idempotency_key: "K1",
      merchant_id: "m1",
      type: "RECEIPT",
      kind: "SALE_RECEIPT",
      category: "SALE",
      currency: "VND",
      amount: "10.0000",
      party_type: "NONE",
      reason_en: "r",
      reason_vi: "r",
      source_type: "SALE_ORDER",
      source_id: "so1",
      event_id: "e1",
      origin_topic: "payment.success",
      origin_partition: 0,
      origin_offset: 1,
      occurred_at: new Date(0),
      content_hash: "h",
      ...over,
    };
    const cols = Object.keys(row);
    return pool.query(
      `INSERT INTO finance.voucher (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})`,
      Object.values(row),
    );
  }

  function insertLine(
    lineNo: number,
    side: string,
    amount: string,
    voucherId = VOUCHER_ID,
  ): Promise<unknown> {
    return pool.query(
      "INSERT INTO finance.ledger_line (voucher_id, line_no, account_id, side, amount) VALUES ($1, $2, 'a1', $3, $4)",
      [voucherId, lineNo, side, amount],
    );
  }

  const violates = (code: string, constraint?: RegExp) => (e: unknown) => {
    const err = e as { code?: string; constraint?: string };
    assert.equal(err.code, code, String(e));
    if (constraint) assert.match(err.constraint ?? "", constraint);
    return true;
  };

  it("accepts a valid line", async () => {
    await insertLine(1, "DEBIT", "10.0000");
  });

  it("rejects line amounts that are zero or negative", async () => {
    await assert.rejects(insertLine(2, "DEBIT", "0"), violates("23514", /amount/));
    await assert.rejects(insertLine(3, "CREDIT", "-1"), violates("23514", /amount/));
  });

  it("rejects a side other than DEBIT or CREDIT", async () => {
    await assert.rejects(insertLine(4, "debit", "1"), violates("23514", /side/));
  });

  it("rejects a line whose voucher does not exist", async () => {
    await assert.rejects(
      insertLine(1, "DEBIT", "1", "00000000-0000-4000-8000-00000000dead"),
      violates("23503"),
    );
  });

  it("rejects a line number used twice in a voucher", async () => {
    await assert.rejects(insertLine(1, "CREDIT", "10"), violates("23505", /ledger_line_pkey/));
  });

  it("rejects a second voucher with the same voucher id: the key's UUID v5 makes the key unique", async () => {
    await assert.rejects(insertVoucher({ idempotency_key: "K2" }), violates("23505", /voucher_pkey/));
  });

  it("takes a key of any size, in voucher and content_conflict, and finds a voucher by its key", async () => {
    // incompressible, and far past the ~2.7 kB a btree index row holds
    const key = `K-${randomBytes(4_000).toString("hex")}`;
    const id = "00000000-0000-4000-8000-000000000005";
    await insertVoucher({ voucher_id: id, idempotency_key: key });
    const { rows } = await pool.query("SELECT voucher_id FROM finance.voucher WHERE idempotency_key = $1", [
      key,
    ]);
    assert.deepEqual(rows, [{ voucher_id: id }]);
    const conflict = `INSERT INTO finance.content_conflict (idempotency_key, stored_hash, incoming_hash, incoming)
      VALUES ($1, 's', 'i', '{}')`;
    await pool.query(conflict, [key]);
    // one row per key and wrong version, whatever the key's size
    await assert.rejects(pool.query(conflict, [key]), violates("23505", /content_conflict_key_version_idx/));
    await pool.query(conflict, [`${key}x`]);
  });

  it("rejects bad voucher type, party type and non-positive amounts", async () => {
    const other = { voucher_id: "00000000-0000-4000-8000-000000000003", idempotency_key: "K3" };
    await assert.rejects(insertVoucher({ ...other, type: "REFUND" }), violates("23514", /type/));
    await assert.rejects(
      insertVoucher({ ...other, party_type: "EMPLOYEE" }),
      violates("23514", /party_type/),
    );
    await assert.rejects(insertVoucher({ ...other, amount: "0" }), violates("23514", /amount/));
    await assert.rejects(insertVoucher({ ...other, content_hash: null }), violates("23502"));
  });

  it("rejects amounts beyond numeric(19,4)", async () => {
    const other = { voucher_id: "00000000-0000-4000-8000-000000000004", idempotency_key: "K4" };
    await assert.rejects(insertVoucher({ ...other, amount: "10000000000000000" }), violates("22003"));
  });

  it("stores a dead letter once per topic, partition and offset", async () => {
    const sql = `INSERT INTO finance.dead_letter (topic, partition, "offset", reason, error)
      VALUES ('t', 0, 7, 'UNDECODABLE', 'x')`;
    await pool.query(sql);
    await assert.rejects(pool.query(sql), violates("23505"));
  });

  it("rejects an account type other than MONEY or CONTROL", async () => {
    await assert.rejects(
      pool.query(`INSERT INTO finance.account (account_id, merchant_id, name_en, name_vi, type, status)
        VALUES ('a', 'm', 'n', 'n', 'ASSET', 'ACTIVE')`),
      violates("23514", /type/),
    );
  });
});
