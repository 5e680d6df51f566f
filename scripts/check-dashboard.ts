/**
 * `npm run check:dashboard`: proves the Grafana dashboard against a real Prometheus.
 *
 * 1. Finds Debian's Prometheus (`prometheus` on PATH), installing the package with apt-get when
 *    it is missing (as root; `apt-get update` first if the install fails).
 * 2. Starts `finance-posting run` on the stack (test/support/stack.ts: the running one, or
 *    scripts/stack.sh up) with a scratch database, its consumer groups at the topics' ends, and
 *    /metrics on a free port; then Prometheus with deploy/prometheus.yml, its target pointed at
 *    that port and a 1 s scrape interval (histogram panels take rate() over two scrapes at least).
 * 3. Once Prometheus scrapes the instance, drives traffic: three waves of the test scenario (a
 *    merchant's day: skips, a redelivery and a re-publication, i.e. idempotent replays, and one
 *    dead letter per reason), a forged voucher under a booked key (a content conflict), and a
 *    voucher Postgres refuses (a POSTING_FAILED dead letter). It waits until /metrics counts all
 *    of that and Prometheus has scraped it.
 * 4. Evaluates every target's query of every panel of deploy/grafana/dashboards/finance-posting.json
 *    through Prometheus' HTTP API (/api/v1/query) and prints each panel with its series count and
 *    values (labelled by the panel's legend format). Fails when a query returns no series, or
 *    only NaN (a panel with nothing to draw).
 *
 * Everything it started is stopped, and the scratch database dropped, however it ends. Exit 0 when
 * every panel has data, 1 otherwise. The services are the ones KAFKA_BROKERS, SCHEMA_REGISTRY_URL
 * and DATABASE_URL name (the local stack by default); the scenario's records stay on its topics.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Voucher } from "../src/domain/voucher.js";
import { voucherIdOf } from "../src/ids.js";
import { money } from "../src/money.js";
import { SOURCE_TOPICS, VOUCHER_TOPIC, valueSubject } from "../src/topics.js";
import {
  connectKafka,
  produce,
  startGroupsAtEnd,
  type TestKafka,
  testConfig,
} from "../test/support/pipeline.js";
import {
  publishCdc,
  publishEvents,
  SCENARIO,
  type ScenarioIds,
  scenarioIds,
} from "../test/support/scenario.js";
import { ensureStack } from "../test/support/stack.js";
import { createThrowawayDb, type ThrowawayDb } from "../test/support/throwaway-db.js";
import { refusedVouchers } from "../test/support/vouchers.js";
import { freePort } from "../tools/bench/free-port.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DASHBOARD = join(ROOT, "deploy", "grafana", "dashboards", "finance-posting.json");
const PROMETHEUS_CONFIG = join(ROOT, "deploy", "prometheus.yml");
const SCRAPE_INTERVAL_S = 1;
const WAVES = 3;

const t0 = Date.now();
const say = (msg: string) =>
  console.log(`[check:dashboard +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}`);

class CheckFailed extends Error {}

// --- Prometheus --------------------------------------------------------------------------

function prometheusVersion(): string | null {
  const r = spawnSync("prometheus", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return /version (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? "unknown";
}

/** Debian's `prometheus` package, installed when missing. */
function ensurePrometheus(): string {
  const found = prometheusVersion();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new CheckFailed("prometheus not found: install Debian's package (apt-get install prometheus)");
  }
  say("prometheus not found: apt-get install prometheus");
  const apt = (...args: string[]) =>
    spawnSync("apt-get", args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }).status === 0;
  const install = () => apt("install", "-y", "-q", "--no-install-recommends", "prometheus");
  if (!install() && !(apt("update", "-q") && install())) {
    throw new CheckFailed("apt-get install prometheus failed");
  }
  const installed = prometheusVersion();
  if (!installed) throw new CheckFailed("prometheus still not runnable after apt-get install");
  return installed;
}

/** deploy/prometheus.yml with its target pointed at our instance and a short scrape interval. */
function prometheusConfig(metricsPort: number): string {
  const original = readFileSync(PROMETHEUS_CONFIG, "utf8");
  let out = original;
  const replace = (pattern: RegExp | string, by: string, what: string) => {
    const next = out.replace(pattern, by);
    if (next === out) throw new CheckFailed(`deploy/prometheus.yml: could not find ${what} to point it here`);
    out = next;
  };
  replace('"host.docker.internal:9464"', `"127.0.0.1:${metricsPort}"`, "the finance-posting target");
  replace(/scrape_interval: \S+/, `scrape_interval: ${SCRAPE_INTERVAL_S}s`, "scrape_interval");
  replace(/evaluation_interval: \S+/, `evaluation_interval: ${SCRAPE_INTERVAL_S}s`, "evaluation_interval");
  return out;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function promQuery(base: string, query: string): Promise<Sample[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Sample[] };
  };
  if (body.status !== "success" || !body.data) {
    throw new CheckFailed(`Prometheus refused ${query}: ${body.error ?? res.status}`);
  }
  if (body.data.resultType !== "vector") {
    throw new CheckFailed(`${query}: expected an instant vector, got ${body.data.resultType}`);
  }
  return body.data.result;
}

// --- helpers -----------------------------------------------------------------------------

async function waitFor(
  what: string | (() => string),
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      const said = typeof what === "string" ? what : what();
      throw new CheckFailed(`timed out after ${timeoutMs / 1000}s waiting for ${said}`);
    }
    await sleep(250);
  }
}

const httpOk = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(3_000) })).ok;

/** Sum of a metric's samples in Prometheus text format whose labels include `labels`. */
function metricTotal(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function stopProcess(child: ChildProcess | undefined, name: string, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    say(`${name} did not stop within ${graceMs / 1000}s of SIGTERM: killing it`);
    child.kill("SIGKILL");
    await exited;
  }
}

// --- traffic -----------------------------------------------------------------------------

/** The scenario's purchase-payment voucher, with other content: the sink keeps the first and counts a conflict. */
function forgedVoucher(ids: ScenarioIds): Voucher {
  const key = `PURCHASE_PAYMENT:${ids.M}:PURCHASE_ORDER:${ids.PO}`;
  return {
    voucherId: voucherIdOf(key),
    idempotencyKey: key,
    merchantId: ids.M,
    type: "PAYMENT",
    kind: "PURCHASE_PAYMENT",
    category: "PURCHASE",
    currency: "VND",
    amount: money("1"),
    party: { type: "NONE", id: null, name: null },
    reason: { en: "check:dashboard conflict", vi: "check:dashboard xung đột" },
    source: { type: "PURCHASE_ORDER", id: ids.PO, code: "PO-000777" },
    origin: {
      eventId: `conflict-${ids.run}`,
      topic: SOURCE_TOPICS.purchaseOrderReceived,
      partition: 0,
      offset: 0,
    },
    occurredAt: Date.now(),
    lines: [
      { lineNo: 1, accountId: ids.CASH, accountCode: "CASH", side: "CREDIT", amount: money("1") },
      {
        lineNo: 2,
        accountId: ids.acct("INVENTORY"),
        accountCode: "INVENTORY",
        side: "DEBIT",
        amount: money("1"),
      },
    ],
  };
}

// --- the dashboard -----------------------------------------------------------------------

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string; legendFormat?: string; hide?: boolean }[];
  panels?: Panel[];
}

function dashboardPanels(): Panel[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels?: Panel[] };
  const flat: Panel[] = [];
  const walk = (ps: Panel[] = []) => {
    for (const p of ps) {
      if (p.type === "row") walk(p.panels);
      else flat.push(p);
    }
  };
  walk(dashboard.panels);
  return flat;
}

/** Grafana's built-in interval variables, as Grafana would fill them for a 1 h range. */
function withGrafanaVariables(expr: string): string {
  const filled = expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__interval", `${SCRAPE_INTERVAL_S * 15}s`)
    .replaceAll("$__range", "1h");
  if (filled.includes("$")) throw new CheckFailed(`a query uses a variable this check cannot fill: ${expr}`);
  return filled;
}

function legendOf(format: string | undefined, metric: Record<string, string>): string {
  if (!format) return JSON.stringify(metric);
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => metric[name] ?? "");
}

function shortValue(v: string): string {
  const n = Number(v);
  return Number.isFinite(n) ? String(Number(n.toPrecision(3))) : v;
}

async function checkPanels(promBase: string): Promise<boolean> {
  const panels = dashboardPanels();
  let failed = 0;
  let queries = 0;
  console.log(`\npanel -> series (${panels.length} panels of ${DASHBOARD.slice(ROOT.length + 1)})`);
  for (const panel of panels) {
    const targets = (panel.targets ?? []).filter((t) => t.expr && !t.hide);
    if (targets.length === 0) {
      console.log(`  --    ${panel.title}: no query`);
      continue;
    }
    const lines: string[] = [];
    let series = 0;
    let panelOk = true;
    for (const t of targets) {
      queries++;
      const result = await promQuery(promBase, withGrafanaVariables(t.expr ?? ""));
      const finite = result.filter((s) => !Number.isNaN(Number(s.value[1])));
      series += result.length;
      const ok = result.length > 0 && finite.length > 0;
      if (!ok) panelOk = false;
      const values = result.map((s) => `${legendOf(t.legendFormat, s.metric)}=${shortValue(s.value[1])}`);
      // Data, but nothing above zero: worth a look (e.g. increase() over a counter born with its value).
      const allZero = finite.length > 0 && finite.every((s) => Number(s.value[1]) === 0) ? " [all zero]" : "";
      lines.push(
        `        ${ok ? "" : result.length === 0 ? "NO SERIES: " : "ONLY NaN: "}${t.expr}\n` +
          `          ${result.length} series${values.length ? `: ${values.join(", ")}` : ""}${allZero}`,
      );
    }
    if (!panelOk) failed++;
    console.log(`  ${panelOk ? "ok  " : "FAIL"}  ${panel.title}: ${series} series`);
    for (const l of lines) console.log(l);
  }
  const withQueries = panels.filter((p) => (p.targets ?? []).some((t) => t.expr)).length;
  console.log(
    `\ncheck:dashboard: ${withQueries - failed} of ${withQueries} panels (${queries} queries) return series` +
      (failed ? `; ${failed} panel(s) without data` : ""),
  );
  return failed === 0;
}

// --- main --------------------------------------------------------------------------------

async function main(): Promise<boolean> {
  const version = ensurePrometheus();
  say(`Prometheus ${version}`);
  const stack = await ensureStack();
  say(`stack: Kafka ${stack.kafkaBrokers}, registry ${stack.schemaRegistryUrl}`);

  const work = mkdtempSync(join(tmpdir(), "check-dashboard-"));
  const appLog = join(work, "finance-posting.log");
  const promLog = join(work, "prometheus.log");
  let passed = false;
  let db: ThrowawayDb | undefined;
  let k: TestKafka | undefined;
  let app: ChildProcess | undefined;
  let prometheus: ChildProcess | undefined;
  const cleanup = async () => {
    await stopProcess(app, "finance-posting run", 35_000);
    await stopProcess(prometheus, "prometheus", 10_000);
    await k?.close().catch(() => {});
    await db?.drop().catch((e: Error) => say(`could not drop the scratch database: ${e.message}`));
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    db = await createThrowawayDb();
    const config = testConfig({ DATABASE_URL: db.url });
    k = await connectKafka(config);
    await startGroupsAtEnd(k, config);

    const metricsPort = await freePort();
    say(`finance-posting run: /metrics on 127.0.0.1:${metricsPort}, groups ${config.CONSUMER_GROUP}.*`);
    app = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli.ts"), "run"], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        CONSUMER_GROUP: config.CONSUMER_GROUP,
        METRICS_PORT: String(metricsPort),
        RESOLVE_TIMEOUT_MS: "1000",
        SINK_LINGER_MS: "50",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    app.stderr?.pipe(createWriteStream(appLog));
    const appExited = once(app, "exit").then(([code]) => {
      throw new CheckFailed(`finance-posting run exited with code ${code}`);
    });
    appExited.catch(() => {});

    const promPort = await freePort();
    const promBase = `http://127.0.0.1:${promPort}`;
    const configFile = join(work, "prometheus.yml");
    writeFileSync(configFile, prometheusConfig(metricsPort));
    say(
      `prometheus on ${promBase}, scraping every ${SCRAPE_INTERVAL_S}s (config: deploy/prometheus.yml, target 127.0.0.1:${metricsPort})`,
    );
    prometheus = spawn(
      "prometheus",
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(work, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    prometheus.stderr?.pipe(createWriteStream(promLog));

    const racing = <T>(p: Promise<T>) => Promise.race([p, appExited]);
    await racing(waitFor("prometheus /-/ready", 60_000, () => httpOk(`${promBase}/-/ready`)));
    await racing(
      waitFor("finance-posting /readyz", 180_000, () => httpOk(`http://127.0.0.1:${metricsPort}/readyz`)),
    );
    await racing(
      waitFor("Prometheus to scrape finance-posting (up == 1)", 60_000, async () => {
        const up = await promQuery(promBase, 'up{job="finance-posting"}');
        return up.some((s) => s.value[1] === "1");
      }),
    );
    say("ready and scraped: driving traffic");

    const scenarios: ScenarioIds[] = [];
    for (let wave = 1; wave <= WAVES; wave++) {
      const ids = scenarioIds();
      scenarios.push(ids);
      await publishCdc(k, ids);
      await publishEvents(k, ids);
      say(
        `wave ${wave}/${WAVES}: a merchant's day (merchant ${ids.M}): 6 vouchers, 6 replays, 4 skips, 4 dead letters`,
      );
      await sleep(2_000);
    }
    const metricsText = () =>
      fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) =>
        r.text(),
      );
    const expected = {
      posted: WAVES * Object.values(SCENARIO.posted).reduce((a, b) => a + b, 0),
      skips: WAVES * Object.values(SCENARIO.skips).reduce((a, b) => a + b, 0),
      deadLetters: WAVES * SCENARIO.deadLetters,
    };
    let last = "";
    await racing(
      waitFor(
        () => `the scenario booked: wanted ${JSON.stringify(expected)}, /metrics had ${last}`,
        120_000,
        async () => {
          const m = await metricsText();
          const seen = {
            posted: metricTotal(m, "finance_vouchers_posted_total"),
            replays: metricTotal(m, "finance_voucher_replays_total"),
            skips: metricTotal(m, "finance_skips_total"),
            deadLetters: metricTotal(m, "finance_dead_letters_total"),
          };
          last = JSON.stringify(seen);
          return (
            seen.posted >= expected.posted &&
            seen.replays > 0 &&
            seen.skips >= expected.skips &&
            seen.deadLetters >= expected.deadLetters
          );
        },
      ),
    );
    say(`booked: ${last}`);

    // A conflict and a POSTING_FAILED dead letter, on the voucher topic the sink reads.
    const schemaId = k.schemaIds.get(valueSubject(VOUCHER_TOPIC));
    if (schemaId === undefined) throw new CheckFailed("finance.voucher-value is not registered");
    const first = scenarios[0] as ScenarioIds;
    const refused = refusedVouchers(first.run).nul.voucher;
    await produce(k.kafka, VOUCHER_TOPIC, [
      { key: first.M, value: k.codec.encode(schemaId, forgedVoucher(first)) },
      { key: refused.merchantId, value: k.codec.encode(schemaId, refused) },
    ]);
    say("published a voucher that conflicts with a booked one, and one Postgres refuses (NUL in a text)");
    await racing(
      waitFor("the conflict and the POSTING_FAILED dead letter in /metrics", 60_000, async () => {
        const m = await metricsText();
        return (
          metricTotal(m, "finance_content_conflicts_total") >= 1 &&
          metricTotal(m, "finance_dead_letters_total", { reason: "POSTING_FAILED" }) >= 1
        );
      }),
    );
    // Prometheus has it once its own copy shows it; two more scrapes for the rate windows.
    await racing(
      waitFor("Prometheus to scrape the conflict and the POSTING_FAILED dead letter", 30_000, async () => {
        const conflicts = await promQuery(promBase, "finance_content_conflicts_total");
        const failed = await promQuery(promBase, 'finance_dead_letters_total{reason="POSTING_FAILED"}');
        return conflicts.some((s) => Number(s.value[1]) >= 1) && failed.length > 0;
      }),
    );
    await sleep(2 * SCRAPE_INTERVAL_S * 1000 + 500);

    passed = await checkPanels(promBase);
    return passed;
  } finally {
    await cleanup();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (!passed) {
      const logs: [string, string][] = [
        ["finance-posting run", appLog],
        ["prometheus", promLog],
      ];
      for (const [name, file] of logs) {
        const tail = existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-20) : [];
        if (tail.length > 0) console.error(`--- last lines of ${name}'s log:\n${tail.join("\n")}`);
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (ok) => {
    say(ok ? "passed" : "FAILED: some panels return no data");
    process.exit(ok ? 0 : 1);
  },
  (e: unknown) => {
    say(
      `FAILED: ${e instanceof Error ? (e instanceof CheckFailed ? e.message : (e.stack ?? e.message)) : String(e)}`,
    );
    process.exit(1);
  },
);
