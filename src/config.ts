import { z } from "zod";
import { ConfigError } from "./errors.js";

const int = (def: number, min: number) => z.coerce.number().int().min(min).default(def);
const bool = z
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

/** Every setting comes from the environment (CONTRACTS "Running it"); defaults fit the local stack. */
const ConfigSchema = z
  .object({
    KAFKA_BROKERS: brokerList,
    KAFKA_CLIENT_ID: z.string().min(1).default("finance-posting"),
    KAFKA_SSL: bool,
    KAFKA_SSL_CA_FILE: z.string().optional(),
    KAFKA_SASL_MECHANISM: z.enum(["plain", "scram-sha-256", "scram-sha-512"]).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
    SCHEMA_REGISTRY_URL: url("http://127.0.0.1:8081/apis/ccompat/v7", ["http:", "https:"]),
    SCHEMA_REGISTRY_USERNAME: z.string().optional(),
    SCHEMA_REGISTRY_PASSWORD: z.string().optional(),
    DATABASE_URL: url("postgres://postgres@127.0.0.1:5432/postgres", ["postgres:", "postgresql:"]),
    CONSUMER_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "may only contain letters, digits, '.', '_' and '-'")
      .default("finance-posting"),
    METRICS_PORT: int(9464, 0).refine((p) => p <= 65535, "must be a port number (0 disables)"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    RESOLVE_TIMEOUT_MS: int(30_000, 0),
    SINK_BATCH_SIZE: int(5_000, 1),
    SINK_LINGER_MS: int(20, 0),
    PARTITIONS_CONSUMED_CONCURRENTLY: int(8, 1),
    KAFKA_RETRIES: int(8, 0),
    // A dead member's partitions move after the session timeout (SPEC §4: ≤ 15 s); shorter
    // means faster failover but more false evictions under a long GC pause or a slow network.
    KAFKA_SESSION_TIMEOUT_MS: int(10_000, 6_000),
    KAFKA_HEARTBEAT_INTERVAL_MS: int(1_000, 100),
    SHUTDOWN_TIMEOUT_MS: int(30_000, 1_000),
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

/** Consumer groups derived from CONSUMER_GROUP, the prefix of every group this project uses. */
export const groups = (c: Config) => ({
  topology: `${c.CONSUMER_GROUP}.topology`,
  sink: `${c.CONSUMER_GROUP}.sink`,
  // Every instance reads the CDC tables in full, so each gets a group of its own.
  tables: (instance: string) => `${c.CONSUMER_GROUP}.tables.${instance}`,
});
