import { randomBytes } from "node:crypto";
import pg from "pg";
import { createScratchDatabase } from "../../tools/bench/scratch-db.js";
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
  const db = await createScratchDatabase(BASE_URL, `fp_test_${randomBytes(6).toString("hex")}`);
  const pools: pg.Pool[] = [];
  return {
    url: db.url,
    pool(max = 4) {
      const p = new pg.Pool({ connectionString: db.url, max });
      p.on("error", () => undefined); // dropping the database ends idle connections on purpose
      pools.push(p);
      return p;
    },
    async drop() {
      await Promise.all(pools.map((p) => p.end()));
      await db.drop();
    },
  };
}
