import { runtime } from "../../src/commands/runtime.js";
import { generateDataset } from "./dataset.js";
import { type PublishOptions, type PublishReport, publishDataset } from "./publish.js";

/** Partitions of each topic the simulator creates, unless told otherwise. */
export const SIMULATION_PARTITIONS = 6;

export interface SimulateOptions {
  seed: number;
  merchants: number;
  events: number;
  partitions?: number;
  bad?: boolean;
  /** The changes after the events on the CDC topics (default true; `--no-history` turns them off). */
  history?: boolean;
  /** Progress lines on stderr about once a second (default true when stderr is a terminal). */
  progress?: boolean;
  compression?: PublishOptions["compression"];
  /** Paced publishing (bench --live): events per second, and each acknowledged request's offsets. */
  eventsPerSecond?: number;
  onEventsAcked?: PublishOptions["onEventsAcked"];
  beforeEvents?: PublishOptions["beforeEvents"];
  env?: NodeJS.ProcessEnv;
  /** Where the summary line goes (default stdout). */
  out?: (line: string) => void;
}

/** `finance-posting simulate`: generates the seeded data set and publishes it; prints a one-line summary. */
export async function simulateCommand(opts: SimulateOptions): Promise<PublishReport> {
  const { kafka, codec, log } = runtime(opts.env);
  const dataset = generateDataset({
    seed: opts.seed,
    merchants: opts.merchants,
    events: opts.events,
    partitions: opts.partitions ?? SIMULATION_PARTITIONS,
    bad: opts.bad ?? false,
    history: opts.history ?? true,
  });

  const showProgress = opts.progress ?? process.stderr.isTTY === true;
  let lastShown = 0;
  const report = await publishDataset(kafka, codec, log, dataset, {
    topicPartitions: dataset.options.partitions,
    ...(opts.compression ? { compression: opts.compression } : {}),
    ...(opts.eventsPerSecond
      ? // requests of about 20 ms of events each, so the pace is steady
        {
          eventsPerSecond: opts.eventsPerSecond,
          batchSize: Math.max(1, Math.round(opts.eventsPerSecond / 50)),
        }
      : {}),
    ...(opts.onEventsAcked ? { onEventsAcked: opts.onEventsAcked } : {}),
    ...(opts.beforeEvents ? { beforeEvents: opts.beforeEvents } : {}),
    onProgress: (p) => {
      if (!showProgress || (p.elapsedMs - lastShown < 1_000 && p.done < p.total)) return;
      lastShown = p.elapsedMs;
      process.stderr.write(
        `simulate: ${p.phase} ${p.done}/${p.total} (${Math.round(p.rate)} msg/s, ${(p.elapsedMs / 1000).toFixed(1)}s)\n`,
      );
    },
  });
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  out(formatReport(dataset.options.seed, report));
  return report;
}

export function formatReport(seed: number, r: PublishReport): string {
  const perTopic = Object.entries(r.events.byTopic)
    .map(([t, n]) => `${t}=${n}`)
    .join(" ");
  return (
    `simulate seed=${seed}: ${r.cdc.messages} CDC rows, ${r.events.messages} events (${perTopic}) ` +
    `in ${(r.events.ms / 1000).toFixed(2)}s = ${Math.round(r.events.rate)} events/s ` +
    `(${(r.events.bytes / 1048576).toFixed(1)} MiB; total ${(r.totalMs / 1000).toFixed(2)}s)`
  );
}
