import type { Pool, PoolClient } from "pg";
import { asInfraError } from "./pg-errors.js";

/** Where a query runs: the pool (a client of its own per call) or a client already checked out. */
export type Db = Pool | PoolClient;

/** A client taken from the pool, to be given back with `release` (an error destroys it). */
export interface CheckedOut {
  client: PoolClient;
  release(broken?: unknown): void;
}

/**
 * Takes a client from the pool, guarded: a connection error while it is checked out (the
 * server restarting under a COPY) is otherwise an unhandled 'error' event that kills the
 * process. The query in flight fails anyway; the lost connection is destroyed on release.
 */
export async function checkOut(pool: Pool, what: string): Promise<CheckedOut> {
  const client = await pool.connect().catch((e: unknown) => {
    throw asInfraError(e, `${what}: connect`);
  });
  let lost: Error | undefined;
  const onError = (e: Error) => {
    lost = e;
  };
  client.on("error", onError);
  return {
    client,
    release(broken) {
      client.off("error", onError);
      client.release(broken instanceof Error ? broken : lost);
    },
  };
}

function isPool(db: Db): db is Pool {
  return "totalCount" in db;
}

/**
 * Runs `work` in one transaction on a client of its own (or on the given idle client), rolling
 * back on failure. Transient failures come out as TransientInfraError so callers retry them.
 */
export async function inTransaction<T>(
  db: Db,
  what: string,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  let own: CheckedOut | undefined;
  let broken: unknown;
  try {
    own = isPool(db) ? await checkOut(db, what) : undefined;
    const client = own?.client ?? (db as PoolClient);
    await client.query("BEGIN");
    try {
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (e) {
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        broken = rollbackError;
      });
      throw e;
    }
  } catch (e) {
    throw asInfraError(e, what);
  } finally {
    // a client whose rollback failed is in an unknown state: destroy it rather than reuse it
    own?.release(broken);
  }
}
