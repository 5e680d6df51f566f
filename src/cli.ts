import { Command, InvalidArgumentError, Option } from "commander";
import { pino } from "pino";
import { formatSummary, replayCommand } from "./commands/replay.js";
import { runCommand } from "./commands/run.js";
import { migrateDatabase, runtime } from "./commands/runtime.js";
import { configVariables, redact, secretsOf } from "./config.js";
import {
  type BenchFlags,
  DEV_TOOLS_MISSING,
  type DevTools,
  loadDevTools,
  type SimulateFlags,
} from "./dev-tools.js";
import { ConfigError, type DeadLetterReason } from "./errors.js";
import { createLogger } from "./log.js";

/** The help's "Environment:" section, generated from the config schema's descriptions. */
function environmentHelp(command: Command): string {
  const help = command.createHelp();
  help.helpWidth ??= process.stdout.columns || 80;
  const variables = configVariables();
  const termWidth = Math.max(...variables.map((v) => v.name.length));
  const items = variables.map((v) => {
    const meaning = v.meaning.replaceAll("`", "");
    return help.formatItem(
      v.name,
      termWidth,
      v.default === undefined ? meaning : `${meaning} (default ${v.default})`,
      help,
    );
  });
  return `\nEnvironment:\n${items.join("\n")}`;
}

/** Parses a command-line number that must be a whole number of at least `min`. */
const integerAtLeast =
  (min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
    return n;
  };
const nonNegativeInt = integerAtLeast(0);
const positiveInt = integerAtLeast(1);

/** The development tools behind `simulate` and `bench`; exits 2 with why where there are none. */
async function devTools(): Promise<DevTools> {
  const tools = await loadDevTools();
  if (tools === undefined) {
    process.stderr.write(`finance-posting: ${DEV_TOOLS_MISSING}\n`);
    process.exit(2);
  }
  return tools;
}

export function buildCli(): Command {
  const program = new Command("finance-posting")
    .description("Books point-of-sale money events from Kafka into merchants' ledgers as balanced vouchers.")
    .addHelpText("after", ({ command }) => environmentHelp(command))
    .showHelpAfterError();

  program
    .command("migrate")
    .description("create or upgrade the Postgres schema `finance` (idempotent, safe to run concurrently)")
    .action(async () => {
      const resources = runtime();
      const pool = resources.pool();
      try {
        await migrateDatabase(pool, resources.config.STARTUP_WAIT_MS, resources.log);
      } finally {
        await pool.end();
      }
    });

  program
    .command("run")
    .description("run the posting topology and the Postgres sink until SIGTERM/SIGINT")
    .addOption(
      new Option("--topology-only", "run only the topology (sources → finance.voucher)").conflicts(
        "sinkOnly",
      ),
    )
    .option("--sink-only", "run only the sink (finance.voucher → Postgres)")
    .option("--no-migrate", "do not apply database migrations at start")
    .action(async (opts: { topologyOnly?: boolean; sinkOnly?: boolean; migrate: boolean }) => {
      await runCommand({ topology: !opts.sinkOnly, sink: !opts.topologyOnly, migrate: opts.migrate });
    });

  program
    .command("replay")
    .description(
      "book everything from the committed (or earliest) offsets up to the end offsets at start, then exit",
    )
    .option("--no-migrate", "do not apply database migrations at start")
    .option("--no-progress", "do not display progress")
    .option("--json", "print the summary as JSON")
    .action(async (opts: { migrate: boolean; progress: boolean; json?: boolean }) => {
      const summary = await replayCommand({ migrate: opts.migrate, progress: opts.progress });
      process.stdout.write(`${opts.json ? JSON.stringify(summary) : formatSummary(summary)}\n`);
    });

  program
    .command("redrive")
    .description(
      "send dead letters back to their source topics (never elsewhere, whatever a header says) and, for POSTING_FAILED, the vouchers the sink refused back to finance.voucher",
    )
    .addOption(
      new Option("--reason <reason...>", "dead-letter reasons to redrive")
        .choices(["UNRESOLVED", "CROSS_TENANT", "INVALID_PAYLOAD", "UNDECODABLE", "POSTING_FAILED"])
        .default(["UNRESOLVED"]),
    )
    .option("--dry-run", "say what would be sent; send, commit and mark nothing")
    .option("--limit <n>", "send at most this many records", positiveInt)
    .action(async (opts: { reason: DeadLetterReason[]; dryRun?: boolean; limit?: number }) => {
      const { redriveCommand } = await import("./commands/redrive.js");
      const s = await redriveCommand(opts.reason, process.env, {
        dryRun: opts.dryRun ?? false,
        ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      });
      process.stdout.write(`${JSON.stringify(s)}\n`);
    });

  program
    .command("simulate")
    .description(
      "publish a reproducible, realistic data set (CDC rows and source events) through the registry",
    )
    .option("--seed <n>", "random seed", nonNegativeInt, 1)
    .option("--merchants <n>", "number of merchants", positiveInt, 20)
    .option("--events <n>", "number of source events", nonNegativeInt, 10_000)
    .option("--partitions <n>", "partitions of topics it creates", positiveInt, 6)
    .option("--bad", "include a few deliberately bad events (each dead-letter reason)")
    .option(
      "--no-history",
      "without the seller database's changes after the events (archives, renames, re-codes, deletes, a refused owner move)",
    )
    .action(async (opts: SimulateFlags) => {
      await (await devTools()).simulate(opts);
    });

  program
    .command("bench")
    .description(
      "measure bulk replay on a generated data set beside a bare decoding consumer and a bare COPY",
    )
    .option("--events <n>", "number of source events", positiveInt, 100_000)
    .option("--merchants <n>", "number of merchants", positiveInt, 50)
    .option("--seed <n>", "random seed", nonNegativeInt, 7)
    .option("--keep", "keep the scratch database the run books into")
    .option("--no-history", "simulate without the seller database's changes after the events")
    .option(
      "--profile <file>",
      "write a CPU profile of the replay (.cpuprofile) and print where the time went",
    )
    .option(
      "--stages",
      "also time the topology's stages (decode … encode) in process on the same records, without Kafka",
    )
    .option(
      "--live",
      "instead of a replay: one `run` process fed at a steady pace; prints event → posting latency",
    )
    .option("--rate <n>", "with --live: events published per second", positiveInt, 2_000)
    .option("--seconds <n>", "with --live: how long to publish", positiveInt, 60)
    .action(async (opts: BenchFlags) => {
      await (await devTools()).bench(opts);
    });

  return program;
}

/** The error as it is logged, with any password in it (a client quoting its URL, say) replaced by `***`. */
function withoutSecrets(e: unknown, secrets: readonly string[]): unknown {
  const logged = e instanceof Error ? pino.stdSerializers.err(e) : e;
  const text = JSON.stringify(logged) ?? "";
  const redacted = redact(text, secrets);
  if (redacted === text) return e;
  try {
    return JSON.parse(redacted);
  } catch {
    // A secret with quotes in it, say, cut through the JSON: keep only what can be redacted as text.
    return { message: redact(e instanceof Error ? e.message : String(e), secrets) };
  }
}

/** How long a failed command may take to close what it opened before it is made to exit. */
const FAILED_EXIT_GRACE_MS = 5_000;

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    const secrets = secretsOf(process.env);
    if (e instanceof ConfigError) {
      process.stderr.write(`finance-posting: ${redact(e.message, secrets)}\n`);
      process.exit(2);
    }
    // The command's own logger is out of reach here: one for this last line.
    const log = createLogger();
    log.fatal({ err: withoutSecrets(e, secrets) }, "failed");
    log.flush();
    process.exitCode = 1;
    // A command that failed must not linger on the clients and servers it opened.
    setTimeout(() => process.exit(1), FAILED_EXIT_GRACE_MS).unref();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv);
