import { randomBytes } from "node:crypto";
import pg from "pg";
import { ensureStack } from "./stack.js";

const BASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface ThrowawayDb {
  url: string;
  /** A pool on the database; every pool handed out is ended by drop(). */
  pool(max?: number): pg.Pool;
  drop(): Promise<void>;
}

/** A uniquely named database so concurrent test files and runs never see each other's rows. */
export async function createThrowawayDb(): Promise<ThrowawayDb> {
  await ensureStack();
  const name = `fp_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  const pools: pg.Pool[] = [];
  return {
    url: url.toString(),
    pool(max = 4) {
      const p = new pg.Pool({ connectionString: url.toString(), max });
      p.on("error", () => undefined); // dropping the database ends idle connections on purpose
      pools.push(p);
      return p;
    },
    async drop() {
      await Promise.all(pools.map((p) => p.end()));
      const c = new pg.Client({ connectionString: BASE_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
