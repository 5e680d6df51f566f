import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";
import { ConfigError } from "./errors.js";

/** The longest delay Node's timers take (2^31−1 ms, ~24.8 days): a longer one fires at once. */
export const TIMER_MAX_MS = 2_147_483_647;
const MIB = 1024 * 1024;

/**
 * A whole number within [min, max]: anything else (not a number, a fraction, out of range) is
 * refused with one message giving the range, and why the bound is there when it is not obvious.
 * The range is also in the help and the README (`configVariables`).
 */
const intWithin = (min: number, max: number, def: number, why?: string) => {
  const error = `must be a whole number from ${min} to ${max}${why ? ` (${why})` : ""}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error }).default(def);
};
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

/** A URL that must not carry a user or password: they would be printed wherever the URL is. */
const urlWithoutCredentials = (def: string, protocols: string[], instead: string) =>
  url(def, protocols).refine((s) => !URL.canParse(s) || noCredentials(new URL(s)), {
    message: `must not contain credentials (user:password@): set ${instead} instead`,
  });
const noCredentials = (u: URL) => u.username === "" && u.password === "";

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
    KAFKA_SSL: flag.describe(
      "TLS to the brokers (without it, SASL `plain` is refused unless `KAFKA_SASL_ALLOW_PLAINTEXT`, and SCRAM is warned at every start)",
    ),
    KAFKA_SSL_CA_FILE: z
      .string()
      .optional()
      .describe(
        "PEM file of the CA to trust for the brokers instead of Node's; needs `KAFKA_SSL`, read at start",
      ),
    KAFKA_SASL_MECHANISM: z
      .enum(["plain", "scram-sha-256", "scram-sha-512"])
      .optional()
      .describe("SASL authentication to the brokers"),
    KAFKA_SASL_USERNAME: z
      .string()
      .optional()
      .describe("required with `KAFKA_SASL_MECHANISM`, refused without it"),
    KAFKA_SASL_PASSWORD: z
      .string()
      .optional()
      .describe("required with `KAFKA_SASL_MECHANISM`, refused without it"),
    KAFKA_SASL_ALLOW_PLAINTEXT: flag.describe(
      "lets `KAFKA_SASL_MECHANISM=plain` send its password without `KAFKA_SSL` (readable by anyone on the network; refused otherwise, warned at every start)",
    ),
    SCHEMA_REGISTRY_URL: urlWithoutCredentials(
      "http://127.0.0.1:8081/apis/ccompat/v7",
      ["http:", "https:"],
      "SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD",
    ).describe("Confluent-compatible registry; credentials in it are refused (use the two below)"),
    SCHEMA_REGISTRY_USERNAME: z
      .string()
      .optional()
      .describe(
        "basic auth to the registry, with `SCHEMA_REGISTRY_PASSWORD` (one without the other is refused; over `http:` warned at every start)",
      ),
    SCHEMA_REGISTRY_PASSWORD: z
      .string()
      .optional()
      .describe("basic auth to the registry, with `SCHEMA_REGISTRY_USERNAME`"),
    DATABASE_URL: url("postgres://postgres@127.0.0.1:5432/postgres", ["postgres:", "postgresql:"]).describe(
      "Postgres; its password is never printed",
    ),
    CONSUMER_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "may only contain letters, digits, '.', '_' and '-'")
      .default("finance-posting")
      .describe(
        "prefix of the groups: `<prefix>.topology`, `<prefix>.sink`, and one `<prefix>.tables.<uuid>` per instance for the CDC tables (deleted on clean stop)",
      ),
    METRICS_PORT: intWithin(0, 65535, 9464, "a port; 0 disables").describe(
      "`/metrics`, `/healthz`, `/readyz` (GET and HEAD only); `0` disables",
    ),
    METRICS_HOST: z
      .string()
      .refine((h) => isIP(h) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(h), {
        message: "must be an IP address or a host name",
      })
      .optional()
      .describe(
        "address the metrics and health endpoints listen on. Unset: every interface, because an orchestrator's probes and Prometheus reach a container at its own address, never its loopback; `127.0.0.1` keeps them on the machine (a sidecar or node agent scraping)",
      ),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info")
      .describe("structured JSON logs on stderr"),
    RESOLVE_TIMEOUT_MS: intWithin(
      0,
      3_600_000,
      30_000,
      "an hour; longer-missing references are what redrive is for",
    ).describe("how long an event waits for missing references before `UNRESOLVED`"),
    SINK_BATCH_SIZE: intWithin(1, 100_000, 5_000, "one Postgres transaction, held in memory").describe(
      "sink flush size: an idle sink flushes as soon as it holds this many vouchers",
    ),
    SINK_FLUSHES_IN_FLIGHT: intWithin(1, 16, 2, "each holds a Postgres connection").describe(
      "sink flushes running at once, each in its own Postgres transaction: more lets Postgres use more cores under a backlog",
    ),
    SINK_LINGER_MS: intWithin(0, 60_000, 20, "a minute; vouchers wait uncommitted meanwhile").describe(
      "how long an idle sink waits for more vouchers before it flushes",
    ),
    PARTITIONS_CONSUMED_CONCURRENTLY: intWithin(1, 256, 8).describe(
      "partitions processed at once per consumer",
    ),
    KAFKA_RETRIES: intWithin(0, 100, 8, "100 already retries for over 15 minutes").describe(
      "retries of a failed broker request (backoff from 200 ms to 10 s) before it counts as an error",
    ),
    KAFKA_SESSION_TIMEOUT_MS: intWithin(
      6_000,
      1_800_000,
      10_000,
      "the broker's group.min/max.session.timeout.ms defaults",
    ).describe(
      "how fast a dead instance's partitions move to the survivors (SPEC §4: within 15 s). Shorter fails over faster but evicts a member that pauses longer (GC, a slow network); the broker refuses less than its `group.min.session.timeout.ms` (6 s by default)",
    ),
    KAFKA_HEARTBEAT_INTERVAL_MS: intWithin(100, 600_000, 1_000).describe(
      "how often a consumer tells the group it is alive; at most a third of `KAFKA_SESSION_TIMEOUT_MS`",
    ),
    KAFKA_REBALANCE_TIMEOUT_MS: intWithin(1_000, 1_800_000, 10_000).describe(
      "how long the group waits, once a rebalance starts, for every member to join again before it goes on without those that did not (a member paused or cut off): the partitions of the whole group wait meanwhile. Members let go of their batches within a heartbeat interval, so it need not be long",
    ),
    KAFKA_FETCH_MAX_BYTES: intWithin(1_024, 256 * MIB, 8 * 1024 * 1024, "256 MiB: memory").describe(
      "most bytes one fetch brings to the topology: with `KAFKA_PARTITION_FETCH_MAX_BYTES` it bounds the records in flight, and with them memory (the sink has `SINK_FETCH_MAX_BYTES`)",
    ),
    KAFKA_PARTITION_FETCH_MAX_BYTES: intWithin(1_024, 256 * MIB, 128 * 1024, "256 MiB: memory").describe(
      "most bytes one fetch brings to the topology per partition: it bounds the records of a batch, which are all held until the batch is published, and with them memory; larger batches take longer to process within the session timeout",
    ),
    SINK_FETCH_MAX_BYTES: intWithin(1_024, 256 * MIB, 16 * 1024 * 1024, "256 MiB: memory").describe(
      "most bytes one fetch brings to the sink: kafkajs fetches again only once every batch of the last fetch is done, and a sink batch is done when its flush commits, so larger fetches let decoding overlap Postgres's flushes for longer",
    ),
    SINK_PARTITION_FETCH_MAX_BYTES: intWithin(1_024, 256 * MIB, 2 * 1024 * 1024, "256 MiB: memory").describe(
      "most bytes one fetch brings to the sink per partition",
    ),
    HEAP_GROWTH_PERCENT: intWithin(0, 300, 100, "V8 grows the heap 4× at most").describe(
      "how far each process lets its JavaScript heap grow past the live data before collecting (V8's `--heap-growing-percent`, set at start): lower holds memory down at some CPU; `0` leaves V8's own policy, which grows the heap up to 4× under load",
    ),
    SHUTDOWN_TIMEOUT_MS: intWithin(1_000, TIMER_MAX_MS, 30_000, "Node's timer limit").describe(
      "how long a stop (finish in-flight batches, flush, commit) may take before the process exits 1",
    ),
    STARTUP_WAIT_MS: intWithin(0, TIMER_MAX_MS, 120_000, "Node's timer limit").describe(
      "how long a start waits for an unreachable Postgres, Kafka cluster or schema registry (a restart of one of them as the instance starts) before it exits 1 to be restarted; credentials they refuse end the wait at once",
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
    const refuse = (variable: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [variable], message });
    if (c.KAFKA_SASL_MECHANISM && !(c.KAFKA_SASL_USERNAME && c.KAFKA_SASL_PASSWORD)) {
      refuse(
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM",
      );
    }
    if (!c.KAFKA_SASL_MECHANISM && (c.KAFKA_SASL_USERNAME || c.KAFKA_SASL_PASSWORD)) {
      refuse(
        c.KAFKA_SASL_USERNAME ? "KAFKA_SASL_USERNAME" : "KAFKA_SASL_PASSWORD",
        "is set but KAFKA_SASL_MECHANISM is not: the brokers would be reached without authentication",
      );
    }
    if (c.KAFKA_SASL_MECHANISM === "plain" && !c.KAFKA_SSL && !c.KAFKA_SASL_ALLOW_PLAINTEXT) {
      refuse(
        "KAFKA_SASL_MECHANISM",
        "plain without KAFKA_SSL sends the password in clear: set KAFKA_SSL=true (or KAFKA_SASL_ALLOW_PLAINTEXT=true to accept that)",
      );
    }
    if (c.KAFKA_SSL_CA_FILE !== undefined) {
      if (!c.KAFKA_SSL) {
        refuse("KAFKA_SSL_CA_FILE", "is set but KAFKA_SSL is not: the brokers would be reached without TLS");
      }
      const problem = caFileProblem(c.KAFKA_SSL_CA_FILE);
      if (problem) refuse("KAFKA_SSL_CA_FILE", `${problem}: ${c.KAFKA_SSL_CA_FILE}`);
    }
    if (!c.SCHEMA_REGISTRY_USERNAME !== !c.SCHEMA_REGISTRY_PASSWORD) {
      refuse(
        c.SCHEMA_REGISTRY_USERNAME ? "SCHEMA_REGISTRY_USERNAME" : "SCHEMA_REGISTRY_PASSWORD",
        "SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD go together: with only one, the registry would be reached without authentication",
      );
    }
  });

const FILE_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "cannot be read (permission denied)",
  EISDIR: "is a directory, not a file",
};

/** Why a CA file cannot serve (missing, unreadable, not PEM), or null when it can. */
function caFileProblem(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    return FILE_ERRORS[code] ?? `cannot be read (${code || (e as Error).message})`;
  }
  return text.includes("-----BEGIN CERTIFICATE-----") ? null : "holds no PEM certificate";
}

/**
 * What is allowed but weaker than it looks, to be logged at every start: a password or the
 * data in clear on the network.
 */
export function configWarnings(c: Config): string[] {
  const warnings: string[] = [];
  if (c.KAFKA_SASL_MECHANISM === "plain" && !c.KAFKA_SSL) {
    warnings.push(
      "KAFKA_SASL_ALLOW_PLAINTEXT: SASL plain without KAFKA_SSL sends the Kafka password in clear",
    );
  } else if (c.KAFKA_SASL_MECHANISM && !c.KAFKA_SSL) {
    warnings.push(
      "KAFKA_SSL is off: SASL authenticates, but records travel to and from the brokers in clear",
    );
  }
  if (c.SCHEMA_REGISTRY_USERNAME && new URL(c.SCHEMA_REGISTRY_URL).protocol === "http:") {
    warnings.push("SCHEMA_REGISTRY_URL is http: the registry password travels in clear (use https)");
  }
  return warnings;
}

/** The secrets a configuration holds (passwords), to be kept out of every message. */
export function secretsOf(env: NodeJS.ProcessEnv): string[] {
  const secrets = [env.KAFKA_SASL_PASSWORD, env.SCHEMA_REGISTRY_PASSWORD];
  for (const u of [env.DATABASE_URL, env.SCHEMA_REGISTRY_URL]) {
    if (!u || !URL.canParse(u)) continue;
    const password = new URL(u).password;
    if (password) secrets.push(password, safeDecode(password));
  }
  return [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length > 0))];
}

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The text with every secret replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((t, secret) => t.replaceAll(secret, "***"), text);
}

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
    const p = property as {
      description?: string;
      default?: unknown;
      enum?: unknown[];
      minimum?: number;
      maximum?: number;
    };
    if (!p.description) throw new Error(`${name} has no description in the config schema`);
    const choices = p.enum ? `: ${p.enum.map((v) => `\`${String(v)}\``).join(", ")}` : "";
    const range =
      p.minimum !== undefined && p.maximum !== undefined ? ` (\`${p.minimum}\`–\`${p.maximum}\`)` : "";
    return {
      name,
      default: p.default === undefined ? undefined : String(p.default),
      meaning: `${p.description}${choices}${range}`,
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
