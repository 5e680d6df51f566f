import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { type StackEndpoints, unreachable } from "../support/stack.js";

const exec = promisify(execFile);

/**
 * Faults in the shared stack: the Kafka broker scripts/stack.sh started, and the machine's
 * Postgres server. Each is used only when it is really the one the run talks to, and each is
 * brought back by the same means that normally run it.
 */

/** The pid of the Kafka broker scripts/stack.sh started, when it runs (its pid file, checked as the script does). */
export function stackKafkaPid(root: string): number | null {
  const file = join(process.env.STACK_DIR ?? join(root, ".stack"), "run", "kafka.pid");
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return pid > 0 && cmdline.includes("kafka.Kafka") ? pid : null;
  } catch {
    return null;
  }
}

/** The machine's Postgres cluster (`pg_ctlcluster <version> main`), when the run's database is on it. */
export function machinePostgres(databaseUrl: string): string | null {
  const url = new URL(databaseUrl);
  if (!["127.0.0.1", "localhost"].includes(url.hostname) || (url.port || "5432") !== "5432") return null;
  if (!existsSync("/etc/postgresql")) return null;
  const versions = readdirSync("/etc/postgresql").filter((v) => existsSync(`/etc/postgresql/${v}/main`));
  return versions.length === 1 ? (versions[0] ?? null) : null;
}

async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what} not back after ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

const answers = async (e: StackEndpoints, service: "Kafka" | "Postgres") =>
  !(await unreachable(e)).some((p) => p.startsWith(service));

/** Brings the stack's Kafka up with the script (idempotent: it starts only what is missing). */
export async function stackUp(root: string): Promise<void> {
  await exec("bash", [join(root, "scripts", "stack.sh"), "up"], { cwd: root, timeout: 600_000 });
}

/** SIGKILLs the broker (a crash), then starts it again with `scripts/stack.sh up`; resolves once it answers. */
export async function crashBroker(root: string, endpoints: StackEndpoints): Promise<{ downMs: number }> {
  const pid = stackKafkaPid(root);
  if (pid === null) throw new Error("no Kafka started by scripts/stack.sh is running");
  const killed = Date.now();
  process.kill(pid, "SIGKILL");
  await waitUntil("the killed broker's exit", async () => !existsSync(`/proc/${pid}`), 30_000);
  await stackUp(root);
  await waitUntil("Kafka", () => answers(endpoints, "Kafka"), 120_000);
  return { downMs: Date.now() - killed };
}

/** `pg_ctlcluster <v> main restart` (fast shutdown: connections are cut); resolves once Postgres answers. */
export async function restartPostgres(
  version: string,
  endpoints: StackEndpoints,
): Promise<{ downMs: number }> {
  const started = Date.now();
  await exec("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "restart"], {
    timeout: 120_000,
  });
  await waitUntil("Postgres", () => answers(endpoints, "Postgres"), 120_000);
  return { downMs: Date.now() - started };
}

/** Leaves the stack as it was found: whatever this run took down and is not answering is started again. */
export async function restoreStack(
  root: string,
  endpoints: StackEndpoints,
  touched: { kafka: boolean; postgres: string | null },
): Promise<string[]> {
  const done: string[] = [];
  if (touched.postgres && !(await answers(endpoints, "Postgres"))) {
    await exec("pg_ctlcluster", ["--skip-systemctl-redirect", touched.postgres, "main", "start"]).catch(
      () => undefined,
    );
    done.push("Postgres started again");
  }
  if (touched.kafka && !(await answers(endpoints, "Kafka"))) {
    await stackUp(root);
    done.push("Kafka started again");
  }
  return done;
}

/** The same, synchronously, for a run that is being abandoned (a signal, the watchdog). */
export function restoreStackSync(root: string, touched: { kafka: boolean; postgres: string | null }): void {
  if (touched.postgres) {
    try {
      // Fails harmlessly when the cluster runs.
      execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", touched.postgres, "main", "start"], {
        stdio: "ignore",
      });
    } catch {}
  }
  if (touched.kafka && stackKafkaPid(root) === null) {
    try {
      execFileSync("bash", [join(root, "scripts", "stack.sh"), "up"], {
        cwd: root,
        stdio: ["ignore", "ignore", "inherit"],
        timeout: 600_000,
      });
    } catch {}
  }
}
