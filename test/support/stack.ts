import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Admin, Kafka, logLevel } from "kafkajs";
import pg from "pg";

/**
 * The real services integration tests run against: the local stack (scripts/stack.sh), or
 * whatever KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL name. Nothing here is mocked.
 */
export interface StackEndpoints {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  databaseUrl: string;
}

export const DEFAULT_ENDPOINTS: StackEndpoints = {
  kafkaBrokers: "127.0.0.1:9092",
  schemaRegistryUrl: "http://127.0.0.1:8081/apis/ccompat/v7",
  databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
};

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PROBE = join(ROOT, "scripts", "stack", "probe.mjs");
const STACK_UP_TIMEOUT_MS = 15 * 60_000;

let ensured: Promise<StackEndpoints> | undefined;

/**
 * Endpoints of a running stack. When one of the services does not answer, runs
 * `bash scripts/stack.sh up` (once per process) and uses what it printed. The endpoints are
 * also written back to process.env, so code that reads its config from the environment
 * (loadConfig) sees the same services.
 */
export function ensureStack(): Promise<StackEndpoints> {
  ensured ??= bringUp();
  return ensured;
}

function fromEnv(env: NodeJS.ProcessEnv = process.env): StackEndpoints {
  return {
    kafkaBrokers: env.KAFKA_BROKERS || DEFAULT_ENDPOINTS.kafkaBrokers,
    schemaRegistryUrl: env.SCHEMA_REGISTRY_URL || DEFAULT_ENDPOINTS.schemaRegistryUrl,
    databaseUrl: env.DATABASE_URL || DEFAULT_ENDPOINTS.databaseUrl,
  };
}

function exportToEnv(e: StackEndpoints): StackEndpoints {
  process.env.KAFKA_BROKERS = e.kafkaBrokers;
  process.env.SCHEMA_REGISTRY_URL = e.schemaRegistryUrl;
  process.env.DATABASE_URL = e.databaseUrl;
  return e;
}

async function bringUp(): Promise<StackEndpoints> {
  const wanted = fromEnv();
  if ((await unreachable(wanted)).length === 0) return exportToEnv(wanted);

  // stack.sh prints progress on stderr and one `export A=... B=...` line on stdout.
  const out = execFileSync("bash", [join(ROOT, "scripts", "stack.sh"), "up"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    timeout: STACK_UP_TIMEOUT_MS,
  });
  const line = out.split("\n").find((l) => l.startsWith("export ")) ?? "";
  const printed = Object.fromEntries(
    line
      .slice("export ".length)
      .split(/\s+/)
      .filter((kv) => kv.includes("="))
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
  const endpoints = fromEnv({ ...process.env, ...printed });
  const down = await unreachable(endpoints);
  if (down.length > 0) throw new Error(`stack.sh up finished but not reachable: ${down.join("; ")}`);
  return exportToEnv(endpoints);
}

/** What does not answer, as human-readable reasons (empty when all is well). */
export async function unreachable(e: StackEndpoints): Promise<string[]> {
  const checks: [string, string, string][] = [
    ["kafka", e.kafkaBrokers, `Kafka ${e.kafkaBrokers}`],
    ["registry", e.schemaRegistryUrl, `registry ${e.schemaRegistryUrl}`],
    ["postgres", e.databaseUrl, `Postgres ${e.databaseUrl}`],
  ];
  const results = await Promise.all(checks.map(([kind, address]) => probe(kind, address)));
  return results.flatMap((problem, i) => (problem === null ? [] : [`${checks[i]?.[2]}: ${problem}`]));
}

/** The stack script's own readiness probe: null when the service answers, else why not. */
function probe(kind: string, address: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PROBE, kind, address], (err, _stdout, stderr) =>
      resolve(err ? stderr.trim() || err.message : null),
    );
  });
}

/** A name no other test, run or checkout has used: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/** A kafkajs client for tests: errors only, quick retries. */
export function testKafka(brokers: string, clientId = uniqueName("test")): Kafka {
  return new Kafka({
    clientId,
    brokers: brokers.split(","),
    logLevel: logLevel.ERROR,
    retry: { retries: 5, initialRetryTime: 100 },
  });
}

/** Creates a fresh topic (unique name unless given) and waits until its partitions have leaders. */
export async function createTopic(
  admin: Admin,
  opts: { name?: string; partitions?: number; config?: Record<string, string> } = {},
): Promise<string> {
  const topic = opts.name ?? uniqueName("topic");
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: opts.partitions ?? 3,
        replicationFactor: -1,
        configEntries: Object.entries(opts.config ?? {}).map(([name, value]) => ({ name, value })),
      },
    ],
  });
  if (!created) throw new Error(`topic ${topic} already exists`);
  return topic;
}

export interface TestSchema {
  /** The schema's name; `pool` has it first on its search_path. */
  name: string;
  pool: pg.Pool;
  /** Drops the schema and everything in it, and ends the pool. */
  drop(): Promise<void>;
}

/**
 * A fresh Postgres schema for one test, so tests never see each other's tables or rows.
 * Cheaper than a database per test; for a whole database use test/support/throwaway-db.ts.
 */
export async function createTestSchema(databaseUrl: string, prefix = "t"): Promise<TestSchema> {
  const name = uniqueName(prefix).replaceAll("-", "_").toLowerCase();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, options: `-c search_path=${name}` });
  try {
    await pool.query(`CREATE SCHEMA "${name}"`);
  } catch (e) {
    await pool.end();
    throw e;
  }
  return {
    name,
    pool,
    async drop() {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}
