import { z } from "zod";
import { ConfigError } from "./errors.js";

const intAtLeast = (min: number, def: number) => z.coerce.number().int().min(min).default(def);
const flag = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .default("false")
  .transform((v) => v === "true" || v === "1" || v === "yes");

const brokerList = z
  .string()
  .default("127.0.0.1:9092")
  .transform((s) =>
    s
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine((bs) => bs.length > 0 && bs.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), {
    message: "must be a comma-separated list of host:port",
  });

const url = (def: string, protocols: string[]) =>
  z
    .string()
    .default(def)
    .refine((s) => URL.canParse(s) && protocols.includes(new URL(s).protocol), {
      message: `must be a URL (${protocols.join(" or ")})`,
    });

/**
 * Every setting comes from the environment (CONTRACTS "Running it"); defaults fit the local
 * stack. Each variable is described here and only here: the CLI's help is generated from these
 * descriptions (`configVariables`), and a unit test keeps the README's table in step.
 */
const ConfigSchema = z
  .object({
    KAFKA_BROKERS: brokerList.describe("comma-separated `host:port`"),
    KAFKA_CLIENT_ID: z
      .string()
      .min(1)
      .default("finance-posting")
      .describe("client id the broker sees, in its logs and quotas"),
    KAFKA_SSL: flag.describe("TLS to the brokers"),
    KAFKA_SSL_CA_FILE: z
      .string()
      .optional()
      .describe("PEM file of the CA to trust for the brokers instead of Node's"),
    KAFKA_SASL_MECHANISM: z
      .enum(["plain", "scram-sha-256", "scram-sha-512"])
      .optional()
      .describe("SASL authentication to the brokers"),
    KAFKA_SASL_USERNAME: z.string().optional().describe("required with `KAFKA_SASL_MECHANISM`"),
    KAFKA_SASL_PASSWORD: z.string().optional().describe("required with `KAFKA_SASL_MECHANISM`"),
    SCHEMA_REGISTRY_URL: url("http://127.0.0.1:8081/apis/ccompat/v7", ["http:", "https:"]).describe(
      "Confluent-compatible registry",
    ),
    SCHEMA_REGISTRY_USERNAME: z.string().optional().describe("basic auth to the registry"),
    SCHEMA_REGISTRY_PASSWORD: z.string().optional().describe("basic auth to the registry"),
    DATABASE_URL: url("postgres://postgres@127.0.0.1:5432/postgres", ["postgres:", "postgresql:"]).describe(
      "Postgres",
    ),
    CONSUMER_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "may only contain letters, digits, '.', '_' and '-'")
      .default("finance-posting")
      .describe(
        "prefix of the groups: `<prefix>.topology`, `<prefix>.sink`, and one `<prefix>.tables.<uuid>` per instance for the CDC tables (deleted on clean stop)",
      ),
    METRICS_PORT: intAtLeast(0, 9464)
      .refine((p) => p <= 65535, "must be a port number (0 disables)")
      .describe("`/metrics`, `/healthz`, `/readyz`; `0` disables"),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info")
      .describe("structured JSON logs on stderr"),
    RESOLVE_TIMEOUT_MS: intAtLeast(0, 30_000).describe(
      "how long an event waits for missing references before `UNRESOLVED`",
    ),
    SINK_BATCH_SIZE: intAtLeast(1, 5_000).describe(
      "sink flush size: an idle sink flushes as soon as it holds this many vouchers",
    ),
    SINK_FLUSHES_IN_FLIGHT: intAtLeast(1, 2).describe(
      "sink flushes running at once, each in its own Postgres transaction: more lets Postgres use more cores under a backlog",
    ),
    SINK_LINGER_MS: intAtLeast(0, 20).describe(
      "how long an idle sink waits for more vouchers before it flushes",
    ),
    PARTITIONS_CONSUMED_CONCURRENTLY: intAtLeast(1, 8).describe("partitions processed at once per consumer"),
    KAFKA_RETRIES: intAtLeast(0, 8).describe(
      "retries of a failed broker request (backoff from 200 ms to 10 s) before it counts as an error",
    ),
    KAFKA_SESSION_TIMEOUT_MS: intAtLeast(6_000, 10_000).describe(
      "how fast a dead instance's partitions move to the survivors (SPEC §4: within 15 s). Shorter fails over faster but evicts a member that pauses longer (GC, a slow network); the broker refuses less than its `group.min.session.timeout.ms` (6 s by default)",
    ),
    KAFKA_HEARTBEAT_INTERVAL_MS: intAtLeast(100, 1_000).describe(
      "how often a consumer tells the group it is alive; at most a third of `KAFKA_SESSION_TIMEOUT_MS`",
    ),
    KAFKA_FETCH_MAX_BYTES: intAtLeast(1_024, 8 * 1024 * 1024).describe(
      "most bytes one fetch brings to the topology: with `KAFKA_PARTITION_FETCH_MAX_BYTES` it bounds the records in flight, and with them memory (the sink has `SINK_FETCH_MAX_BYTES`)",
    ),
    KAFKA_PARTITION_FETCH_MAX_BYTES: intAtLeast(1_024, 512 * 1024).describe(
      "most bytes one fetch brings to the topology per partition: larger batches replay faster and take longer to process within the session timeout",
    ),
    SINK_FETCH_MAX_BYTES: intAtLeast(1_024, 16 * 1024 * 1024).describe(
      "most bytes one fetch brings to the sink: kafkajs fetches again only once every batch of the last fetch is done, and a sink batch is done when its flush commits, so larger fetches let decoding overlap Postgres's flushes for longer",
    ),
    SINK_PARTITION_FETCH_MAX_BYTES: intAtLeast(1_024, 2 * 1024 * 1024).describe(
      "most bytes one fetch brings to the sink per partition",
    ),
    HEAP_GROWTH_PERCENT: intAtLeast(0, 100).describe(
      "how far each process lets its JavaScript heap grow past the live data before collecting (V8's `--heap-growing-percent`, set at start): lower holds memory down at some CPU; `0` leaves V8's own policy, which grows the heap up to 4× under load",
    ),
    SHUTDOWN_TIMEOUT_MS: intAtLeast(1_000, 30_000).describe(
      "how long a stop (finish in-flight batches, flush, commit) may take before the process exits 1",
    ),
  })
  .superRefine((c, ctx) => {
    if (c.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > c.KAFKA_SESSION_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["KAFKA_HEARTBEAT_INTERVAL_MS"],
        message: "must be at most a third of KAFKA_SESSION_TIMEOUT_MS",
      });
    }
    if (c.KAFKA_SASL_MECHANISM && !(c.KAFKA_SASL_USERNAME && c.KAFKA_SASL_PASSWORD)) {
      ctx.addIssue({
        code: "custom",
        path: ["KAFKA_SASL_USERNAME"],
        message: "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM",
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

/** Parses the environment, or throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = ConfigSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(config)"}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

/** One environment variable, as the help and the README describe it. */
export interface ConfigVariable {
  name: string;
  /** The default as it would be written in the environment; undefined when there is none. */
  default: string | undefined;
  /** The schema's description, then the values an enumeration takes (Markdown: code in backticks). */
  meaning: string;
}

/** Every variable of the schema, in its order, documented from the schema alone. */
export function configVariables(): ConfigVariable[] {
  const { properties = {} } = z.toJSONSchema(ConfigSchema, { io: "input", unrepresentable: "any" });
  return Object.entries(properties).map(([name, property]) => {
    const p = property as { description?: string; default?: unknown; enum?: unknown[] };
    if (!p.description) throw new Error(`${name} has no description in the config schema`);
    const choices = p.enum ? `: ${p.enum.map((v) => `\`${String(v)}\``).join(", ")}` : "";
    return {
      name,
      default: p.default === undefined ? undefined : String(p.default),
      meaning: `${p.description}${choices}`,
    };
  });
}

/** Consumer groups derived from CONSUMER_GROUP, the prefix of every group this project uses. */
export const groups = (c: Config) => ({
  topology: `${c.CONSUMER_GROUP}.topology`,
  sink: `${c.CONSUMER_GROUP}.sink`,
  // Every instance reads the CDC tables in full, so each gets a group of its own.
  tables: (instance: string) => `${c.CONSUMER_GROUP}.tables.${instance}`,
});
