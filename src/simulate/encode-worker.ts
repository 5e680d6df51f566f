import { parentPort, workerData } from "node:worker_threads";
import { type DatasetOptions, generateDataset } from "./dataset.js";
import { DatasetEncoder, type EncodedBatch, type SchemaIds } from "./encode.js";

/**
 * Worker thread of the publisher: regenerates the data set from its options (it is a pure
 * function of them) and encodes it batch by batch, so generation and Avro encoding run beside
 * the producer on the main thread. Batches go to the main thread with their buffers
 * transferred; the main thread grants a credit per batch it has sent, which bounds memory.
 */

export interface WorkerInput {
  options: DatasetOptions;
  ids: SchemaIds;
  partitions: Record<string, number>;
  batchSize: number;
  credits: number;
}

export type WorkerMessage =
  | { kind: "ready" }
  | { kind: "batch"; phase: "cdc" | "events"; batch: EncodedBatch }
  | { kind: "done"; phase: "cdc" | "events" }
  | { kind: "error"; message: string; stack?: string };

async function run(port: NonNullable<typeof parentPort>, input: WorkerInput): Promise<void> {
  let credits = input.credits;
  let wake: (() => void) | null = null;
  const onMessage = (m: { kind: string; n?: number }) => {
    if (m.kind !== "credit") return;
    credits += m.n ?? 1;
    wake?.();
  };
  port.on("message", onMessage);
  const dataset = generateDataset(input.options);
  const encoder = new DatasetEncoder(input.ids, input.partitions, input.batchSize);
  port.postMessage({ kind: "ready" } satisfies WorkerMessage);

  const flush = async (phase: "cdc" | "events") => {
    while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    credits--;
    const batch = encoder.take();
    const message: WorkerMessage = { kind: "batch", phase, batch };
    port.postMessage(message, [batch.buffer, batch.meta.buffer as ArrayBuffer]);
  };

  for (const item of dataset.cdc()) {
    encoder.cdc(item);
    if (encoder.full) await flush("cdc");
  }
  if (encoder.size > 0) await flush("cdc");
  port.postMessage({ kind: "done", phase: "cdc" } satisfies WorkerMessage);

  for (const item of dataset.events()) {
    encoder.event(item);
    if (encoder.full) await flush("events");
  }
  if (encoder.size > 0) await flush("events");
  port.postMessage({ kind: "done", phase: "events" } satisfies WorkerMessage);
  // Nothing left to wait for: the worker ends once the messages are flushed.
  port.off("message", onMessage);
}

if (parentPort && (workerData as { simulateEncoder?: WorkerInput } | null)?.simulateEncoder) {
  const port = parentPort;
  run(port, (workerData as { simulateEncoder: WorkerInput }).simulateEncoder).catch((e: unknown) => {
    const err = e as Error;
    port.postMessage({ kind: "error", message: err.message, stack: err.stack } satisfies WorkerMessage);
  });
}
