import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kafka } from "kafkajs";
import type { AvroCodec } from "../../src/avro/codec.js";
import { ALL_CDC_TOPICS } from "../../src/topics.js";
import { type Dataset, generateDataset } from "../../tools/simulate/dataset.js";
import { SIM_TOPICS } from "../../tools/simulate/encode.js";
import { publishDataset } from "../../tools/simulate/publish.js";
import { log } from "../support/log.js";

type Phase = "cdc" | "events";
interface SentRequest {
  phase: Phase;
  start: number;
  end: number;
  messages: number;
}

const cdcTopics = new Set<string>(ALL_CDC_TOPICS);

/**
 * A broker of three partitions per topic that records each request (`onSend` sees it as it is
 * sent) and takes it after `delayMs(n)` for the n-th request.
 */
function fakeKafka(
  delayMs: (nth: number) => number,
  onSend: (r: SentRequest) => void = () => undefined,
): { kafka: Kafka; requests: SentRequest[] } {
  const requests: SentRequest[] = [];
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
        const phase: Phase = topicMessages.some((t) => cdcTopics.has(t.topic)) ? "cdc" : "events";
        const messages = topicMessages.reduce((n, t) => n + t.messages.length, 0);
        const request: SentRequest = { phase, start: Date.now(), end: 0, messages };
        requests.push(request);
        onSend(request);
        await sleep(delayMs(requests.length));
        request.end = Date.now();
        return topicMessages.flatMap(({ topic, messages }) =>
          [0, 1, 2]
            .map((partition) => ({ topicName: topic, partition, baseOffset: "0", errorCode: 0 }))
            .slice(0, messages.length > 0 ? 3 : 0),
        );
      },
    }),
  } as unknown as Kafka;
  return { kafka, requests };
}

const fakeCodec = () => {
  let nextId = 1;
  return { register: async () => nextId++ } as unknown as AvroCodec;
};

/** The most requests of a phase that were in flight at once. */
const mostInFlight = (requests: SentRequest[], phase: Phase): number => {
  const ofPhase = requests.filter((r) => r.phase === phase);
  return Math.max(
    0,
    ...ofPhase.map((r) => ofPhase.filter((o) => o.start <= r.start && o.end > r.start).length),
  );
};

/** The data set, counting the events its generator has yielded so far. */
function countingEvents(dataset: Dataset): { dataset: Dataset; generated: () => number } {
  let n = 0;
  const events = function* () {
    for (const e of dataset.events()) {
      n++;
      yield e;
    }
  };
  return { dataset: { ...dataset, events }, generated: () => n };
}

/**
 * CDC rows keep the seller database's order in their partitions, as Debezium's do: the
 * simulator sends them one request after another. With requests in flight together, one retried
 * by the client (a fresh broker's "leader not available") landed after the next — an owner move
 * of the history overtook its snapshot row, and a bench at 5,000 events and 100 merchants booked
 * a third fewer vouchers than expected.
 */
describe("simulate: publishing order", () => {
  it("sends CDC requests one at a time, in the data set's order; events may overlap", async () => {
    // The first request is slow, as one the client retries after a broker's refusal.
    const { kafka, requests } = fakeKafka((nth) => (nth === 1 ? 60 : 5));
    const dataset = generateDataset({ seed: 7, merchants: 20, events: 400 });

    const report = await publishDataset(kafka, fakeCodec(), log, dataset, { batchSize: 50 });

    assert.equal(report.cdc.messages, dataset.cdcCount);
    const cdc = requests.filter((r) => r.phase === "cdc");
    assert.ok(cdc.length > 2, "several CDC requests");
    assert.equal(mostInFlight(requests, "cdc"), 1, "one CDC request at a time");
    for (let i = 1; i < cdc.length; i++)
      assert.ok(
        (cdc[i]?.start ?? 0) >= (cdc[i - 1]?.end ?? 0),
        `CDC request ${i} started after ${i - 1} ended`,
      );
    assert.ok(mostInFlight(requests, "events") > 1, "events still overlap");
  });
});

/**
 * Paced (bench --live), the simulator's own generation and encoding would share the machine
 * with the pipeline measured, so the events are generated before the first is sent — up to a
 * bound, beyond which they are generated as they go.
 */
describe("simulate: paced publishing", () => {
  const EVENTS = 600;
  const publishPaced = async (options: { paced: boolean; preparedEventBytes?: number }) => {
    const { dataset, generated } = countingEvents(
      generateDataset({ seed: 7, merchants: 20, events: EVENTS }),
    );
    let atFirstEvent: number | null = null;
    const { kafka, requests } = fakeKafka(
      () => 1,
      (r) => {
        if (r.phase === "events") atFirstEvent ??= generated();
      },
    );
    const report = await publishDataset(kafka, fakeCodec(), log, dataset, {
      batchSize: 50,
      ...(options.paced ? { eventsPerSecond: 20_000 } : {}),
      ...(options.preparedEventBytes !== undefined ? { preparedEventBytes: options.preparedEventBytes } : {}),
    });
    const sent = requests.filter((r) => r.phase === "events").reduce((n, r) => n + r.messages, 0);
    return { atFirstEvent, sent, report };
  };

  it("generates every event before the first is sent", async () => {
    const { atFirstEvent, sent, report } = await publishPaced({ paced: true });
    assert.equal(atFirstEvent, EVENTS);
    assert.equal(sent, EVENTS);
    assert.equal(report.events.messages, EVENTS);
  });

  it("generates only up to its bound ahead, then the rest as it goes, and sends them all", async () => {
    // Each batch of 50 events has a buffer of 50 × 320 bytes: a bound of one batch.
    const { atFirstEvent, sent } = await publishPaced({ paced: true, preparedEventBytes: 50 * 320 });
    assert.equal(atFirstEvent, 50);
    assert.equal(sent, EVENTS);
  });

  it("does not generate ahead when not paced", async () => {
    const { atFirstEvent, sent } = await publishPaced({ paced: false });
    assert.equal(atFirstEvent, 50);
    assert.equal(sent, EVENTS);
  });
});
