import type { Pool } from "pg";
import type { Logger } from "../log.js";
import { checkOut } from "./db.js";
import { MIGRATIONS, type Migration } from "./migrations/index.js";
import { asInfraError, isTransientPgError } from "./pg-errors.js";

/** Fixed advisory-lock key ("finpost" in ASCII) that serializes migrate() across instances. */
const MIGRATION_LOCK_KEY = "28548420217482100";

export interface MigrateResult {
  /** Versions applied by this call, in order; empty when the schema was already current. */
  applied: number[];
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    const previous = migrations[i - 1];
    if (!Number.isInteger(m.version) || m.version < 1 || (previous && m.version <= previous.version)) {
      throw new Error(
        `migration versions must be positive, unique and ascending (at ${m.version} ${m.name})`,
      );
    }
  });
}

/**
 * Creates or upgrades schema `finance`. A session advisory lock makes concurrent callers take
 * turns, so the second one finds everything applied; each migration commits in its own
 * transaction together with its schema_migrations row, so a failure leaves the last good version.
 */
export async function migrate(
  pool: Pool,
  log: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  assertOrdered(migrations);
  const own = await checkOut(pool, "migrate");
  const client = own.client;
  let locked = false;
  let broken: Error | undefined;
  try {
    await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    locked = true;
    // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists; an
    // owner role that a DBA gave schema `finance` (README, least privilege) has none.
    const schema = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = 'finance'");
    if (schema.rowCount === 0) await client.query("CREATE SCHEMA finance");
    await client.query(`
      CREATE TABLE IF NOT EXISTS finance.schema_migrations (
        version int PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number }>("SELECT version FROM finance.schema_migrations");
    const done = new Set(rows.map((r) => r.version));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...done].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      log.warn({ unknown }, "database has migrations this version does not know (newer deployment?)");
    }
    const applied: number[] = [];
    for (const m of migrations.filter((m) => !done.has(m.version))) {
      try {
        await client.query("BEGIN");
        await client.query(m.sql);
        await client.query("INSERT INTO finance.schema_migrations (version, name) VALUES ($1, $2)", [
          m.version,
          m.name,
        ]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK").catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        if (isTransientPgError(e)) throw e;
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e });
      }
      applied.push(m.version);
      log.info({ version: m.version, name: m.name }, "migration applied");
    }
    return { applied };
  } catch (e) {
    throw asInfraError(e, "migrate");
  } finally {
    if (locked && !broken) {
      await client.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]).catch((e: Error) => {
        broken = e;
      });
    }
    // a connection whose state is unknown must not go back to the pool still holding the lock
    own.release(broken);
  }
}
