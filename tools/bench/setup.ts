import { randomUUID } from "node:crypto";
import type { Admin } from "kafkajs";
import { type Runtime, runtime } from "../../src/commands/runtime.js";
import { groups, loadConfig } from "../../src/config.js";
import { startGroupAtEnd } from "../../src/kafka/group-offsets.js";
import { ALL_CDC_TOPICS, ALL_SOURCE_TOPICS, DLQ_TOPIC, VOUCHER_TOPIC } from "../../src/topics.js";
import { createScratchDatabase } from "./scratch-db.js";

export interface BenchSetup {
  /** The environment the measured pipeline runs with: the scratch database, groups of its own. */
  env: NodeJS.ProcessEnv;
  bench: Runtime;
  admin: Admin;
}

/**
 * A bench run's own world on the shared stack: a scratch database, and consumer groups that
 * start at the topics' current ends so that only this run's data is read. Dropped afterwards
 * unless kept.
 */
export async function withBenchSetup<T>(keep: boolean, work: (s: BenchSetup) => Promise<T>): Promise<T> {
  const scratch = await createScratchDatabase(
    loadConfig(process.env).DATABASE_URL,
    `finance_bench_${Date.now()}`,
  );
  const env = { ...process.env, DATABASE_URL: scratch.url, CONSUMER_GROUP: `bench-${randomUUID()}` };
  const bench = runtime(env);
  const admin = bench.kafka.admin();
  await admin.connect();
  try {
    await startGroupAtEnd(bench.kafka, admin, groups(bench.config).topology, ALL_SOURCE_TOPICS);
    await startGroupAtEnd(bench.kafka, admin, groups(bench.config).sink, [
      VOUCHER_TOPIC,
      DLQ_TOPIC,
      ...ALL_CDC_TOPICS,
    ]);
    return await work({ env, bench, admin });
  } finally {
    await admin.disconnect();
    if (!keep) await scratch.drop();
  }
}
