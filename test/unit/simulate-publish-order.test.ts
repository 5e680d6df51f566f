import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kafka } from "kafkajs";
import type { AvroCodec } from "../../src/avro/codec.js";
import { ALL_CDC_TOPICS } from "../../src/topics.js";
import { generateDataset } from "../../tools/simulate/dataset.js";
import { SIM_TOPICS } from "../../tools/simulate/encode.js";
import { publishDataset } from "../../tools/simulate/publish.js";
import { log } from "../support/log.js";

/**
 * CDC rows keep the seller database's order in their partitions, as Debezium's do: the
 * simulator sends them one request after another. With requests in flight together, one retried
 * by the client (a fresh broker's "leader not available") landed after the next — an owner move
 * of the history overtook its snapshot row, and a bench at 5,000 events and 100 merchants booked
 * a third fewer vouchers than expected.
 */
describe("simulate: publishing order", () => {
  it("sends CDC requests one at a time, in the data set's order; events may overlap", async () => {
    const requests: { phase: "cdc" | "events"; start: number; end: number }[] = [];
    let inFlight = 0;
    let maxCdcInFlight = 0;
    let maxEventsInFlight = 0;
    const cdcTopics = new Set<string>(ALL_CDC_TOPICS);
    const kafka = {
      admin: () => ({
        connect: async () => undefined,
        disconnect: async () => undefined,
        listTopics: async () => [...SIM_TOPICS],
        fetchTopicMetadata: async () => ({
          topics: SIM_TOPICS.map((name) => ({
            name,
            partitions: [0, 1, 2].map((partitionId) => ({ partitionId })),
          })),
        }),
      }),
      producer: () => ({
        connect: async () => undefined,
        disconnect: async () => undefined,
        sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: unknown[] }[] }) => {
          const phase = topicMessages.some((t) => cdcTopics.has(t.topic)) ? "cdc" : "events";
          const request = { phase, start: Date.now(), end: 0 } as (typeof requests)[number];
          requests.push(request);
          inFlight++;
          if (phase === "cdc") maxCdcInFlight = Math.max(maxCdcInFlight, inFlight);
          else maxEventsInFlight = Math.max(maxEventsInFlight, inFlight);
          // The first request is slow, as one the client retries after a broker's refusal.
          await sleep(requests.length === 1 ? 60 : 5);
          inFlight--;
          request.end = Date.now();
          return topicMessages.flatMap(({ topic, messages }) =>
            [0, 1, 2]
              .map((partition) => ({ topicName: topic, partition, baseOffset: "0", errorCode: 0 }))
              .slice(0, messages.length > 0 ? 3 : 0),
          );
        },
      }),
    } as unknown as Kafka;
    let nextId = 1;
    const codec = { register: async () => nextId++ } as unknown as AvroCodec;
    const dataset = generateDataset({ seed: 7, merchants: 20, events: 400 });

    const report = await publishDataset(kafka, codec, log, dataset, { batchSize: 50 });

    assert.equal(report.cdc.messages, dataset.cdcCount);
    const cdc = requests.filter((r) => r.phase === "cdc");
    assert.ok(cdc.length > 2, "several CDC requests");
    assert.equal(maxCdcInFlight, 1, "one CDC request at a time");
    for (let i = 1; i < cdc.length; i++)
      assert.ok(
        (cdc[i]?.start ?? 0) >= (cdc[i - 1]?.end ?? 0),
        `CDC request ${i} started after ${i - 1} ended`,
      );
    assert.ok(maxEventsInFlight > 1, "events still overlap");
  });
});
