import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/** Polls `url` every 250 ms until `until` holds, or throws after `timeoutMs`. */
export async function poll(url: string, until: (status: number, body: string) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url).then(
      async (r) => ({ status: r.status, body: await r.text() }),
      () => ({ status: 0, body: "" }),
    );
    if (until(res.status, res.body)) return res;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${url}: last ${res.status}`);
    await sleep(250);
  }
}

/** `finance-posting run` from the sources, its log passed to `onStderr`. */
export function startRun(env: NodeJS.ProcessEnv, onStderr: (text: string) => void): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "run"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr?.on("data", (d: Buffer) => onStderr(d.toString()));
  return child;
}

/** The environment of a `run` under test: its database, groups of its own, its metrics port, and more settings. */
export function runEnv(
  databaseUrl: string,
  consumerGroup: string,
  metricsPort: number,
  more: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    CONSUMER_GROUP: consumerGroup,
    METRICS_PORT: String(metricsPort),
    ...more,
  };
}
