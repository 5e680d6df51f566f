import assert from "node:assert/strict";
import type { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../tools/bench/free-port.js";
import { connectKafka, startGroupsAtEnd, type TestKafka, testConfig } from "../support/pipeline.js";
import { poll, runEnv, startRun } from "../support/run-process.js";
import { publishCdc, publishEvents, scenarioIds } from "../support/scenario.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

const PORT = 19464 + Math.floor(Math.random() * 500);

describe("finance-posting run: metrics, health, and a clean shutdown on SIGTERM", () => {
  let db: ThrowawayDb;
  let k: TestKafka;
  let child: ReturnType<typeof spawn>;
  let stderr = "";

  before(async () => {
    db = await createThrowawayDb();
    const config = testConfig({ DATABASE_URL: db.url });
    k = await connectKafka(config);
    await startGroupsAtEnd(k, config);
    const env = runEnv(db.url, config.CONSUMER_GROUP, PORT, {
      RESOLVE_TIMEOUT_MS: "1000",
      LOG_LEVEL: "info",
    });
    child = startRun(env, (text) => {
      stderr += text;
    });
    const ids = scenarioIds();
    await publishCdc(k, ids);
    await publishEvents(k, ids);
  });

  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await k?.close();
    await db?.drop();
  });

  it("answers /healthz and, once tables are loaded and consumers run, /readyz", async () => {
    await poll(`http://127.0.0.1:${PORT}/healthz`, (s) => s === 200, 30_000);
    await poll(`http://127.0.0.1:${PORT}/readyz`, (s) => s === 200, 60_000);
  });

  it("exposes the pipeline's metrics in Prometheus format", async () => {
    const { body } = await poll(
      `http://127.0.0.1:${PORT}/metrics`,
      (s, b) => s === 200 && /^finance_vouchers_posted_total\{kind="SALE_RECEIPT"\} 2$/m.test(b),
      60_000,
    );
    for (const name of [
      "finance_events_consumed_total",
      "finance_vouchers_emitted_total",
      "finance_skips_total",
      "finance_dead_letters_total",
      "finance_consumer_lag",
      "finance_sink_batch_size",
      "finance_sink_flush_seconds",
      "finance_event_to_posting_seconds",
    ]) {
      assert.match(body, new RegExp(`^${name}(_bucket)?\\{`, "m"), name);
    }
    // how each voucher batch went in: new vouchers by COPY, these events' redeliveries found by the probe
    assert.match(body, /^finance_sink_voucher_writes_total\{via="copy"\} [1-9]/m);
  });

  it("stops on SIGTERM: finishes in-flight work, commits, disconnects and exits 0 in bounded time", async () => {
    const [sinkPid] = childPids(child.pid as number);
    assert.ok(sinkPid, "run has its sink process");
    const started = Date.now();
    child.kill("SIGTERM");
    const [code] = await Promise.race([
      once(child, "exit"),
      sleep(30_000).then(() => [new Error("did not exit within 30 s")]),
    ]);
    assert.equal(code, 0, stderr.slice(-2000));
    assert.ok(Date.now() - started < 30_000);
    assert.match(stderr, /stopped cleanly/);
    assert.equal(alive(sinkPid), false, "the sink process has exited too");
  });
});

describe("finance-posting run: its sink process dying takes it down, to be restarted", () => {
  let db: ThrowawayDb;
  let child: ReturnType<typeof spawn>;
  let stderr = "";

  before(async () => {
    db = await createThrowawayDb();
    const config = testConfig({ DATABASE_URL: db.url });
    const k = await connectKafka(config);
    await startGroupsAtEnd(k, config);
    await k.close();
    const env = runEnv(db.url, config.CONSUMER_GROUP, PORT + 1);
    child = startRun(env, (text) => {
      stderr += text;
    });
  });

  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await db?.drop();
  });

  it("exits 1 when its sink process is killed, rather than run on without booking", async () => {
    await poll(`http://127.0.0.1:${PORT + 1}/readyz`, (s) => s === 200, 60_000);
    const [sinkPid] = childPids(child.pid as number);
    assert.ok(sinkPid, "run has its sink process");
    process.kill(sinkPid, "SIGKILL");
    const [code] = await Promise.race([
      once(child, "exit"),
      sleep(45_000).then(() => [new Error("did not exit within 45 s")]),
    ]);
    assert.equal(code, 1, stderr.slice(-2000));
    assert.match(stderr, /sink process exited/);
  });
});

/** `finance-posting run` from the sources, its stderr handed to `onStderr` as it comes. */
/** The processes a process started (Linux /proc). */
function childPids(parent: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("finance-posting run: a start that fails ends the process, to be restarted", () => {
  it("exits 1 when it cannot start (the registry unreachable past STARTUP_WAIT_MS), rather than answer /healthz and never be ready", async () => {
    const db = await createThrowawayDb();
    try {
      const config = testConfig({ DATABASE_URL: db.url });
      const nothingListens = await freePort();
      let stderr = "";
      const child = startRun(
        runEnv(db.url, config.CONSUMER_GROUP, PORT + 2, {
          SCHEMA_REGISTRY_URL: `http://127.0.0.1:${nothingListens}/apis/ccompat/v7`,
          STARTUP_WAIT_MS: "1500",
        }),
        (text) => {
          stderr += text;
        },
      );
      const [code] = await Promise.race([
        once(child, "exit"),
        sleep(120_000).then(() => {
          child.kill("SIGKILL");
          return [new Error("still running 120 s after start")];
        }),
      ]);
      assert.equal(code, 1, stderr.slice(-2000));
      assert.match(stderr, /could not start/);
    } finally {
      await db.drop();
    }
  });
});
