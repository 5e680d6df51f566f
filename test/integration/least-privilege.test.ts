import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { type ReplaySummary, replayCommand } from "../../src/commands/replay.js";
import { migrate } from "../../src/sinks/migrate.js";
import { log } from "../support/log.js";
import { connectKafka, deploymentOn, startGroupsAtEnd, type TestKafka } from "../support/pipeline.js";
import { publishCdc, publishEvents, SCENARIO, scenarioIds } from "../support/scenario.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/**
 * Least privilege (README "Postgres: TLS and least privilege"): deploy/postgres/roles.sql makes an owner role that
 * migrates and a runtime role with rows and temporary tables only; `replay --no-migrate` books
 * the scenario as the runtime role, which can change no schema.
 */
const ROLES_SQL = readFileSync(new URL("../../deploy/postgres/roles.sql", import.meta.url), "utf8");

/** The script with psql's :"variable" references filled in, as psql -v would. */
const rolesSql = (vars: Record<string, string>) =>
  ROLES_SQL.replace(/:"(\w+)"/g, (_, name: string) => `"${vars[name] as string}"`);

const asRole = (url: string, role: string) => {
  const u = new URL(url);
  u.username = role;
  return u.toString();
};

describe("least privilege: an owner role migrates, a runtime role books (real Postgres and Kafka)", () => {
  const suffix = randomBytes(4).toString("hex");
  const owner = `fp_owner_${suffix}`;
  const runtime = `fp_runtime_${suffix}`;
  const ids = scenarioIds();
  let db: ThrowawayDb;
  let k: TestKafka;
  let summary: ReplaySummary;
  const pools: pg.Pool[] = [];
  const poolAs = (role: string) => {
    const pool = new pg.Pool({ connectionString: asRole(db.url, role), max: 1 });
    pool.on("error", () => undefined); // dropping the database ends idle connections on purpose
    pools.push(pool);
    return pool;
  };

  before(async () => {
    db = await createThrowawayDb();
    const database = new URL(db.url).pathname.slice(1);
    await db.pool(1).query(rolesSql({ owner, runtime, database }));
    await migrate(poolAs(owner), log);
    const deployment = deploymentOn(asRole(db.url, runtime));
    k = await connectKafka(deployment.config);
    await startGroupsAtEnd(k, deployment.config);
    await publishCdc(k, ids);
    await publishEvents(k, ids);
    summary = await replayCommand({ migrate: false, progress: false }, deployment.env);
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await k?.close();
    await db?.drop();
    const admin = new pg.Client({
      connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS "${runtime}"`);
    await admin.query(`DROP ROLE IF EXISTS "${owner}"`);
    await admin.end();
  });

  it("the runtime role books the scenario: vouchers, dead letters, accounts and reference versions", async () => {
    assert.equal(
      Object.values(summary.vouchersPosted).reduce((a, b) => a + b, 0),
      SCENARIO.distinctVouchers,
    );
    const count = async (sql: string) => Number((await poolAs(runtime).query(sql)).rows[0]?.n);
    assert.equal(await count("SELECT count(*) n FROM finance.voucher"), SCENARIO.distinctVouchers);
    assert.equal(await count("SELECT count(*) n FROM finance.dead_letter"), SCENARIO.deadLetters);
    assert.ok((await count(`SELECT count(*) n FROM finance.account WHERE merchant_id = '${ids.M}'`)) >= 7);
    assert.ok((await count("SELECT count(*) n FROM finance.reference_version")) > 0);
  });

  it("the runtime role can change no schema, and cannot migrate", async () => {
    const pool = poolAs(runtime);
    await assert.rejects(pool.query("CREATE TABLE finance.intruder (a int)"), /permission denied/);
    await assert.rejects(pool.query("ALTER TABLE finance.voucher ADD COLUMN intruder int"), /must be owner/);
    await assert.rejects(pool.query("DELETE FROM finance.voucher"), /permission denied/);
    await assert.rejects(
      migrate(pool, log, [{ version: 99, name: "intruder", sql: "CREATE TABLE finance.x (a int)" }]),
      /permission denied/,
    );
  });

  it("the owner role migrates a schema it was given, without CREATE on the database", async () => {
    const { applied } = await migrate(poolAs(owner), log);
    assert.deepEqual(applied, []);
  });
});
