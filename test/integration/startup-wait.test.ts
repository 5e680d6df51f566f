import assert from "node:assert/strict";
import { connect, createServer, type Server } from "node:net";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { migrateDatabase } from "../../src/commands/runtime.js";
import { TransientInfraError } from "../../src/errors.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/**
 * A start waits for Postgres (issue 21: an instance restarted while the database restarted
 * exited 1 on its migration's refused connection). The database sits behind a TCP relay that
 * starts listening only after a while, as a restarting server would.
 */
function relayTo(target: URL, port: number): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe("a start waits for Postgres within STARTUP_WAIT_MS (real Postgres)", () => {
  let db: ThrowawayDb;
  let relay: Server | undefined;
  const pools: pg.Pool[] = [];
  const poolOn = (port: number) => {
    const url = new URL(db.url);
    url.hostname = "127.0.0.1";
    url.port = String(port);
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    pool.on("error", () => undefined);
    pools.push(pool);
    return pool;
  };

  after(async () => {
    relay?.close();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await db?.drop();
  });

  it("migrates once the database answers, having waited for it", async () => {
    db = await createThrowawayDb();
    const port = await freePort();
    const started = Date.now();
    const migrating = migrateDatabase(poolOn(port), 30_000);
    await sleep(1_500);
    relay = await relayTo(new URL(db.url), port);
    await migrating;
    assert.ok(Date.now() - started >= 1_500, "it waited for the database");
    const { rows } = await poolOn(port).query("SELECT count(*)::int AS n FROM finance.schema_migrations");
    assert.ok((rows[0]?.n as number) >= 1);
  });

  it("gives up after the wait, as a transient failure, so the process exits 1 and is restarted", async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(migrateDatabase(poolOn(port), 1_000), TransientInfraError);
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 10_000, `waited ${waited} ms`);
  });
});
