import type { IHeaders, Message } from "kafkajs";
import type { DeadLetterReason } from "../errors.js";
import { createConsumer, createProducer } from "../kafka/client.js";
import { headerText } from "../kafka/headers.js";
import { pendingRanges, rangeEnds } from "../kafka/offsets.js";
import { followPositions, Positions, partitionKey } from "../kafka/positions.js";
import { DLQ_TOPIC, REASON_HEADER } from "../topics.js";
import { OVERSIZE_HEADER } from "../topology/messages.js";
import { runtime } from "./runtime.js";

const ERROR_HEADER = /^(__connect\.errors\.|finance\.dlq\.)/;

export interface RedriveSummary {
  redriven: Record<string, number>;
  kept: Record<string, number>;
}

/**
 * The original record of a dead letter, back for its source topic, or null when it names none
 * or is the stub of one too large for the topic (its bytes are in finance.dead_letter only).
 */
export function originalRecord(
  headers: IHeaders,
  key: Buffer | null,
  value: Buffer | null,
): { topic: string; message: Message } | null {
  const topic = headerText(headers, "__connect.errors.topic");
  if (!topic || headerText(headers, OVERSIZE_HEADER) !== null) return null;
  const original = Object.fromEntries(Object.entries(headers).filter(([name]) => !ERROR_HEADER.test(name)));
  return { topic, message: { key, value, headers: original } };
}

/**
 * `finance-posting redrive`: sends dead letters of the chosen reasons back to their source
 * topics, byte for byte without the error headers, so the pipeline posts them now that the
 * missing data exists (SPEC §5). Reads the dead-letter topic from its own group's committed
 * offsets up to the end at start; a redriven event that posts twice is an idempotent replay.
 */
export async function redriveCommand(
  reasons: readonly DeadLetterReason[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RedriveSummary> {
  const { config, kafka, log, metrics } = runtime(env);
  const group = `${config.CONSUMER_GROUP}.redrive`;
  const admin = kafka.admin();
  await admin.connect();
  const ranges = await pendingRanges(admin, group, [DLQ_TOPIC]);
  await admin.disconnect();
  const summary: RedriveSummary = { redriven: {}, kept: {} };
  if (ranges.size === 0) return summary;

  const ends = rangeEnds(ranges);
  const producer = createProducer(kafka);
  const consumer = createConsumer(kafka, group);
  const positions = new Positions();
  followPositions(consumer, group, metrics, positions);
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [DLQ_TOPIC], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, commitOffsetsIfNecessary }) => {
      const end = ends.get(partitionKey(batch.topic, batch.partition)) ?? 0n;
      const out = new Map<string, Message[]>();
      for (const m of batch.messages.filter((m) => BigInt(m.offset) < end)) {
        const headers = m.headers ?? {};
        const reason = headerText(headers, REASON_HEADER) ?? "UNKNOWN";
        const original = originalRecord(headers, m.key, m.value);
        const tally =
          original && (reasons as readonly string[]).includes(reason) ? summary.redriven : summary.kept;
        tally[reason] = (tally[reason] ?? 0) + 1;
        if (tally === summary.redriven && original)
          out.set(original.topic, [...(out.get(original.topic) ?? []), original.message]);
      }
      if (out.size > 0) {
        await producer.sendBatch({
          topicMessages: [...out].map(([topic, messages]) => ({ topic, messages })),
          acks: -1,
        });
      }
      // Never past the end captured at start: later dead letters are for a later redrive.
      const last = BigInt(batch.lastOffset()) + 1n;
      const next = (last < end ? last : end).toString();
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
      });
    },
  });
  await positions.reached(ends);
  await consumer.disconnect();
  await producer.disconnect();
  log.info(summary, "redrive complete");
  return summary;
}
