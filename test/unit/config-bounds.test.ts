import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { configWarnings, loadConfig, redact, secretsOf, TIMER_MAX_MS } from "../../src/config.js";
import { ConfigError } from "../../src/errors.js";

/** The message loadConfig refuses an environment with, or null when it accepts it. */
function refusal(env: Record<string, string>): string | null {
  try {
    loadConfig(env);
    return null;
  } catch (e) {
    assert.ok(e instanceof ConfigError, `a ConfigError, not ${String(e)}`);
    return e.message;
  }
}

/** Every numeric setting: its range, and the values just inside and just outside it. */
const BOUNDS: [name: string, min: number, max: number][] = [
  ["METRICS_PORT", 0, 65535],
  ["RESOLVE_TIMEOUT_MS", 0, 3_600_000],
  ["SINK_BATCH_SIZE", 1, 100_000],
  ["SINK_FLUSHES_IN_FLIGHT", 1, 16],
  ["SINK_LINGER_MS", 0, 60_000],
  ["PARTITIONS_CONSUMED_CONCURRENTLY", 1, 256],
  ["KAFKA_RETRIES", 0, 100],
  ["KAFKA_SESSION_TIMEOUT_MS", 6_000, 1_800_000],
  ["KAFKA_FETCH_MAX_BYTES", 1_024, 268_435_456],
  ["KAFKA_PARTITION_FETCH_MAX_BYTES", 1_024, 268_435_456],
  ["SINK_FETCH_MAX_BYTES", 1_024, 268_435_456],
  ["SINK_PARTITION_FETCH_MAX_BYTES", 1_024, 268_435_456],
  ["HEAP_GROWTH_PERCENT", 0, 300],
  ["SHUTDOWN_TIMEOUT_MS", 1_000, TIMER_MAX_MS],
];

/** Settings another one must stay consistent with at the extremes tested. */
const BESIDE: Record<string, Record<string, string>> = {
  // The heartbeat must stay within a third of the session timeout.
  KAFKA_SESSION_TIMEOUT_MS: { KAFKA_HEARTBEAT_INTERVAL_MS: "100" },
};

describe("config: every numeric setting is bounded (exit 2, the variable and its range named)", () => {
  for (const [name, min, max] of BOUNDS) {
    const range = `${name}: must be a whole number from ${min} to ${max}`;
    const env = (value: string) => ({ ...BESIDE[name], [name]: value });
    it(`${name} accepts ${min} and ${max}`, () => {
      assert.equal(refusal(env(String(min))), null);
      assert.equal(refusal(env(String(max))), null);
      assert.equal(loadConfig(env(String(max)))[name as keyof ReturnType<typeof loadConfig>], max);
    });
    for (const bad of [
      String(max + 1),
      "3000000000",
      "1e12",
      "abc",
      "1.5",
      ...(min > 0 ? [String(min - 1)] : ["-1"]),
    ]) {
      it(`${name}=${bad} is refused with its range`, () => {
        const message = refusal(env(bad));
        assert.ok(message, `${name}=${bad} accepted`);
        assert.ok(message.includes(range), message);
      });
    }
  }

  it("timeouts stay within Node's timer limit (2^31-1 ms), so none fires at once", () => {
    assert.equal(TIMER_MAX_MS, 2 ** 31 - 1);
    const refused = refusal({ SHUTDOWN_TIMEOUT_MS: "3000000000", SINK_LINGER_MS: "3000000000" });
    assert.match(refused ?? "", /SHUTDOWN_TIMEOUT_MS: .*Node's timer limit/);
    assert.match(refused ?? "", /SINK_LINGER_MS: /);
  });

  it("the heartbeat interval is bounded by the session timeout", () => {
    assert.match(
      refusal({ KAFKA_SESSION_TIMEOUT_MS: "10000", KAFKA_HEARTBEAT_INTERVAL_MS: "5000" }) ?? "",
      /KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS/,
    );
  });
});

const dir = mkdtempSync(join(tmpdir(), "config-bounds-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const goodCa = file("ca.pem", PEM);
const notPem = file("not.pem", "hello\n");
const unreadable = file("unreadable.pem", PEM);
chmodSync(unreadable, 0o000);
const runningAsRoot = process.getuid?.() === 0;

const SASL = { KAFKA_SASL_USERNAME: "svc", KAFKA_SASL_PASSWORD: "pw" };

/** Combinations refused at start: the environment, and what the message must say. */
const REFUSED: [why: string, env: Record<string, string>, message: RegExp][] = [
  [
    "credentials in SCHEMA_REGISTRY_URL",
    { SCHEMA_REGISTRY_URL: "https://user:pw@registry.example/apis/ccompat/v7" },
    /SCHEMA_REGISTRY_URL: must not contain credentials .*SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD/,
  ],
  [
    "a user alone in SCHEMA_REGISTRY_URL",
    { SCHEMA_REGISTRY_URL: "http://user@registry.example" },
    /SCHEMA_REGISTRY_URL: must not contain credentials/,
  ],
  [
    "a registry username without a password",
    { SCHEMA_REGISTRY_USERNAME: "svc" },
    /SCHEMA_REGISTRY_USERNAME: SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD go together/,
  ],
  [
    "a registry password without a username",
    { SCHEMA_REGISTRY_PASSWORD: "pw" },
    /SCHEMA_REGISTRY_PASSWORD: SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD go together/,
  ],
  [
    "SASL plain without TLS",
    { KAFKA_SASL_MECHANISM: "plain", ...SASL },
    /KAFKA_SASL_MECHANISM: plain without KAFKA_SSL sends the password in clear.*KAFKA_SASL_ALLOW_PLAINTEXT=true/,
  ],
  [
    "a SASL mechanism without credentials",
    { KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SSL: "true" },
    /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM/,
  ],
  [
    "SASL credentials without a mechanism",
    { ...SASL },
    /KAFKA_SASL_USERNAME: is set but KAFKA_SASL_MECHANISM is not/,
  ],
  [
    "a CA file without KAFKA_SSL",
    { KAFKA_SSL_CA_FILE: goodCa },
    /KAFKA_SSL_CA_FILE: is set but KAFKA_SSL is not/,
  ],
  [
    "a missing CA file",
    { KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: join(dir, "missing.pem") },
    /KAFKA_SSL_CA_FILE: no such file: .*missing\.pem/,
  ],
  [
    "a CA file that is a directory",
    { KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: dir },
    /KAFKA_SSL_CA_FILE: is a directory/,
  ],
  [
    "a CA file with no certificate",
    { KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: notPem },
    /KAFKA_SSL_CA_FILE: holds no PEM certificate/,
  ],
  ...(runningAsRoot
    ? []
    : ([
        [
          "an unreadable CA file",
          { KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: unreadable },
          /KAFKA_SSL_CA_FILE: cannot be read \(permission denied\)/,
        ],
      ] as [string, Record<string, string>, RegExp][])),
  [
    "METRICS_HOST that is no address",
    { METRICS_HOST: "0.0.0.0:9464" },
    /METRICS_HOST: must be an IP address/,
  ],
];

describe("config: combinations that would weaken security or fail later are refused at start", () => {
  for (const [why, env, message] of REFUSED) {
    it(`refuses ${why}`, () => {
      const refused = refusal(env);
      assert.ok(refused, `${why}: accepted`);
      assert.match(refused, message);
    });
  }
});

/** Combinations accepted, and the warnings each gets at every start. */
const ACCEPTED: [why: string, env: Record<string, string>, warnings: RegExp[]][] = [
  ["the defaults", {}, []],
  [
    "a password in DATABASE_URL (Postgres URLs carry them)",
    { DATABASE_URL: "postgres://app:pw@db:5432/books" },
    [],
  ],
  [
    "registry auth over https",
    {
      SCHEMA_REGISTRY_URL: "https://registry.example/apis/ccompat/v7",
      SCHEMA_REGISTRY_USERNAME: "svc",
      SCHEMA_REGISTRY_PASSWORD: "pw",
    },
    [],
  ],
  [
    "registry auth over http, warned",
    { SCHEMA_REGISTRY_USERNAME: "svc", SCHEMA_REGISTRY_PASSWORD: "pw" },
    [/SCHEMA_REGISTRY_URL is http: the registry password travels in clear/],
  ],
  [
    "SASL plain over TLS with a CA",
    { KAFKA_SASL_MECHANISM: "plain", ...SASL, KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: goodCa },
    [],
  ],
  [
    "SASL plain without TLS, when explicitly allowed, warned",
    { KAFKA_SASL_MECHANISM: "plain", ...SASL, KAFKA_SASL_ALLOW_PLAINTEXT: "true" },
    [/sends the Kafka password in clear/],
  ],
  [
    "SCRAM without TLS, warned",
    { KAFKA_SASL_MECHANISM: "scram-sha-512", ...SASL },
    [/records travel to and from the brokers in clear/],
  ],
  ["METRICS_HOST 127.0.0.1", { METRICS_HOST: "127.0.0.1" }, []],
  ["METRICS_HOST ::", { METRICS_HOST: "::" }, []],
  ["METRICS_HOST a name", { METRICS_HOST: "localhost" }, []],
];

describe("config: combinations accepted, with a warning where they are weaker than they look", () => {
  for (const [why, env, warnings] of ACCEPTED) {
    it(`accepts ${why}`, () => {
      assert.equal(refusal(env), null);
      const given = configWarnings(loadConfig(env));
      assert.equal(given.length, warnings.length, given.join("\n"));
      for (const [i, w] of warnings.entries()) assert.match(given[i] ?? "", w);
    });
  }

  it("METRICS_HOST is unset by default: every interface, for an orchestrator's probes", () => {
    assert.equal(loadConfig({}).METRICS_HOST, undefined);
  });
});

describe("config: secrets", () => {
  it("a refusal never quotes the value it refuses", () => {
    const message = refusal({
      SCHEMA_REGISTRY_URL: "http://user:Sup3rS3cret@registry.example",
      DATABASE_URL: "postgres://app:DbS3cret@db:99999/books",
      KAFKA_SASL_PASSWORD: "SaslS3cret",
    });
    assert.ok(message);
    for (const secret of ["Sup3rS3cret", "DbS3cret", "SaslS3cret"])
      assert.ok(!message.includes(secret), message);
  });

  it("secretsOf finds every password, in a URL raw and decoded; redact replaces each", () => {
    const env = {
      DATABASE_URL: "postgres://app:p%40ss@db/books",
      KAFKA_SASL_PASSWORD: "k",
      SCHEMA_REGISTRY_PASSWORD: "r",
    };
    const secrets = secretsOf(env);
    assert.deepEqual(new Set(secrets), new Set(["k", "r", "p%40ss", "p@ss"]));
    assert.equal(
      redact("login p@ss and p%40ss failed", secretsOf({ DATABASE_URL: env.DATABASE_URL })),
      "login *** and *** failed",
    );
  });
});
