import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { configVariables } from "../../src/config.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `finance-posting run` (with `args`) in an environment of only `env` among the config's
 * variables (none inherited from the shell or a running stack): its exit code and everything
 * it wrote, stdout and stderr together.
 */
async function start(env: Record<string, string>, args: string[] = []) {
  const names = new Set(configVariables().map((v) => v.name));
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !names.has(k)));
  // Nothing listens where it would connect, unless the case says otherwise: never a real stack.
  const nowhere = await freePort();
  const unreachable = {
    KAFKA_BROKERS: `127.0.0.1:${nowhere}`,
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${nowhere}/apis/ccompat/v7`,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${nowhere}/postgres`,
    KAFKA_RETRIES: "0",
    METRICS_PORT: "0",
  };
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "run", ...args], {
    cwd: ROOT,
    env: { ...inherited, ...unreachable, LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (b: Buffer) => {
    output += b.toString("utf8");
  });
  child.stderr.on("data", (b: Buffer) => {
    output += b.toString("utf8");
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

const DB_SECRET = "Db-s3cret-9f2c";
const SASL_SECRET = "Sasl-s3cret-71ab";
const REGISTRY_SECRET = "Reg-s3cret-c0de";
const SECRETS = [DB_SECRET, SASL_SECRET, REGISTRY_SECRET];

const assertNoSecret = (output: string) => {
  for (const secret of SECRETS) {
    assert.ok(!output.includes(secret), `${secret} printed:\n${output.slice(0, 4000)}`);
  }
};

describe("a failing start never prints a password (stdout and stderr of `run`)", () => {
  const CASES: [
    why: string,
    env: (ports: { db: number; kafka: number }) => Record<string, string>,
    args: string[],
    code: number,
    says: RegExp,
  ][] = [
    [
      "a password in SCHEMA_REGISTRY_URL: refused, naming the variable and what to use",
      () => ({ SCHEMA_REGISTRY_URL: `http://svc:${REGISTRY_SECRET}@127.0.0.1:8081/apis/ccompat/v7` }),
      [],
      2,
      /SCHEMA_REGISTRY_URL: must not contain credentials .*SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD/,
    ],
    [
      "a bad setting beside passwords in every place they can be",
      () => ({
        METRICS_PORT: "70000",
        DATABASE_URL: `postgres://app:${DB_SECRET}@127.0.0.1:5432/books`,
        KAFKA_SASL_MECHANISM: "scram-sha-512",
        KAFKA_SASL_USERNAME: "svc",
        KAFKA_SASL_PASSWORD: SASL_SECRET,
        SCHEMA_REGISTRY_USERNAME: "svc",
        SCHEMA_REGISTRY_PASSWORD: REGISTRY_SECRET,
      }),
      [],
      2,
      /METRICS_PORT: must be a whole number from 0 to 65535/,
    ],
    [
      "a DATABASE_URL that is no URL, with a password in it",
      () => ({ DATABASE_URL: `postgres://app:${DB_SECRET}@127.0.0.1:99999/books` }),
      [],
      2,
      /DATABASE_URL: must be a URL/,
    ],
    [
      "Postgres unreachable (the migration at start fails), passwords everywhere",
      ({ db, kafka }) => ({
        METRICS_PORT: "0",
        STARTUP_WAIT_MS: "1000", // gives up on Postgres after a second, not the default two minutes
        DATABASE_URL: `postgres://app:${DB_SECRET}@127.0.0.1:${db}/books`,
        KAFKA_BROKERS: `127.0.0.1:${kafka}`,
        KAFKA_RETRIES: "0",
        KAFKA_SASL_MECHANISM: "scram-sha-512",
        KAFKA_SASL_USERNAME: "svc",
        KAFKA_SASL_PASSWORD: SASL_SECRET,
        SCHEMA_REGISTRY_URL: `http://127.0.0.1:${kafka}/apis/ccompat/v7`,
        SCHEMA_REGISTRY_USERNAME: "svc",
        SCHEMA_REGISTRY_PASSWORD: REGISTRY_SECRET,
      }),
      [],
      1,
      /ECONNREFUSED/,
    ],
    [
      "Kafka unreachable with SASL (no migration), passwords everywhere",
      ({ db, kafka }) => ({
        METRICS_PORT: "0",
        STARTUP_WAIT_MS: "1000", // gives up on the broker after a second, not the default two minutes
        DATABASE_URL: `postgres://app:${DB_SECRET}@127.0.0.1:${db}/books`,
        KAFKA_BROKERS: `127.0.0.1:${kafka}`,
        KAFKA_RETRIES: "0",
        KAFKA_SASL_MECHANISM: "plain",
        KAFKA_SASL_ALLOW_PLAINTEXT: "true",
        KAFKA_SASL_USERNAME: "svc",
        KAFKA_SASL_PASSWORD: SASL_SECRET,
        SCHEMA_REGISTRY_URL: `http://127.0.0.1:${kafka}/apis/ccompat/v7`,
        SCHEMA_REGISTRY_USERNAME: "svc",
        SCHEMA_REGISTRY_PASSWORD: REGISTRY_SECRET,
      }),
      ["--no-migrate", "--topology-only"],
      1,
      /sends the Kafka password in clear[\s\S]*could not start/,
    ],
  ];

  for (const [why, env, args, code, says] of CASES) {
    it(`${why}: exit ${code}`, async () => {
      const ports = { db: await freePort(), kafka: await freePort() };
      const run = await start(env(ports), args);
      assertNoSecret(run.output);
      assert.equal(run.code, code, run.output.slice(-3000));
      assert.match(run.output, says);
    });
  }
});

describe("a start refused for its configuration: exit 2 with the variable named, no stack", () => {
  const CASES: [why: string, env: Record<string, string>, says: RegExp][] = [
    [
      "a missing KAFKA_SSL_CA_FILE",
      { KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: "/nonexistent/ca.pem" },
      /KAFKA_SSL_CA_FILE: no such file: \/nonexistent\/ca\.pem/,
    ],
    [
      "SHUTDOWN_TIMEOUT_MS past Node's timer limit",
      { SHUTDOWN_TIMEOUT_MS: "3000000000" },
      /SHUTDOWN_TIMEOUT_MS: must be a whole number from 1000 to 2147483647/,
    ],
    [
      "SINK_LINGER_MS past its range",
      { SINK_LINGER_MS: "3000000000" },
      /SINK_LINGER_MS: must be a whole number/,
    ],
    [
      "a registry username without a password",
      { SCHEMA_REGISTRY_USERNAME: "svc" },
      /SCHEMA_REGISTRY_USERNAME: .*go together/,
    ],
    [
      "SASL plain without TLS",
      { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "svc", KAFKA_SASL_PASSWORD: SASL_SECRET },
      /KAFKA_SASL_MECHANISM: plain without KAFKA_SSL/,
    ],
  ];
  for (const [why, env, says] of CASES) {
    it(why, async () => {
      const run = await start(env);
      assert.equal(run.code, 2, run.output);
      assert.match(run.output, says);
      assert.doesNotMatch(run.output, /\n\s+at /, "no stack trace");
      assertNoSecret(run.output);
    });
  }
});
