import type { Message } from "kafkajs";
import type { AvroCodec } from "../avro/codec.js";
import { voucherDefects } from "../domain/voucher-check.js";
import { resolveNow, resolveWithin, type WaitPolicy } from "../enrich/resolve.js";
import type { MaterializedTables } from "../enrich/tables.js";
import { type PostingError, PostingFailedError, TransientInfraError, UnresolvedError } from "../errors.js";
import { classify } from "../failures.js";
import { ruleFor, type SourceEvent } from "../rules/index.js";
import { readerOf } from "../schemas.js";
import { valueSubject } from "../topics.js";
import type { Item, ItemBatch, ItemState, SourceBatch } from "./items.js";
import { recordBytes, voucherMessage } from "./messages.js";

/** How often one record's step is tried before an unexpected error dead-letters it (SPEC §6). */
export const POSTING_ATTEMPTS = 3;

/**
 * What an error means for the record it happened on: a posting error is the record's outcome
 * (a dead letter); an outage fails the whole batch, which is retried and never dead-lettered;
 * anything else is a defect, tried again while attempts remain (null), then POSTING_FAILED,
 * so one record that trips a bug cannot stall its partition.
 */
function outcomeOfError(e: unknown, item: Item, step: string, attempt: number): ItemState | null {
  const failure = classify(e);
  if (failure === "content") return { stage: "failed", error: e as PostingError };
  // An outage, a group error (a heartbeat refused mid-rebalance), a shutdown or a refused
  // credential says nothing of the record: SPEC §6, infrastructure errors are never dead-lettered.
  if (failure !== "defect") {
    if (e instanceof TransientInfraError) throw e;
    throw new TransientInfraError(`${step}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  if (attempt < POSTING_ATTEMPTS) return null;
  const { topic, partition, offset } = item.origin;
  const message = `${step} failed on ${topic}-${partition}@${offset}: ${(e as Error)?.message ?? String(e)}`;
  return { stage: "failed", error: new PostingFailedError(message, { cause: e }) };
}

/** Runs one record's step, turning its errors into its outcome (see outcomeOfError). */
function settle(item: Item, step: string, run: () => ItemState): ItemState {
  for (let attempt = 1; ; attempt++) {
    try {
      return run();
    } catch (e) {
      const outcome = outcomeOfError(e, item, step, attempt);
      if (outcome) return outcome;
    }
  }
}

/**
 * Moves every item of a batch one step on. In place: a batch belongs to one pass through the
 * topology, and copying every item at every stage was a measurable share of replay's GC.
 */
function mapItems(batch: ItemBatch, step: string, f: (p: ItemState, item: Item) => ItemState): ItemBatch {
  for (const item of batch.items) {
    const before = item.state;
    item.state = settle(item, step, () => f(before, item));
  }
  return batch;
}

/** Bytes → event: the writer's schema (fetched once per id) resolved to the topic's reader schema. */
export async function decode(codec: AvroCodec, batch: SourceBatch): Promise<ItemBatch> {
  await codec.prepare(batch.records.map((r) => r.value));
  const reader = readerOf(valueSubject(batch.topic));
  const rule = ruleFor(batch.topic);
  const items = batch.records.map((record): Item => {
    const item: Item = {
      record,
      origin: { eventId: "", topic: batch.topic, partition: batch.partition, offset: Number(record.offset) },
      // decoded just below; an Error as a placeholder would cost a stack trace per record
      state: { stage: "read" },
    };
    item.state = settle(item, "decoding", () => {
      const event = codec.decode<SourceEvent>(record.value, reader);
      item.origin.eventId = typeof event.eventId === "string" ? event.eventId : "";
      return { stage: "decoded", event, rule };
    });
    return item;
  });
  const last = batch.records.at(-1);
  const nextOffset = last ? (BigInt(last.offset) + 1n).toString() : "0";
  return {
    topic: batch.topic,
    partition: batch.partition,
    items,
    nextOffset,
    ...(batch.hold ? { hold: batch.hold } : {}),
  };
}

export function validate(batch: ItemBatch): ItemBatch {
  return mapItems(batch, "validation", (p) => {
    if (p.stage !== "decoded") return p;
    p.rule.validate(p.event);
    return { ...p, stage: "validated" };
  });
}

/**
 * Joins each event with the tables. Most resolve at once; only those whose references are
 * missing wait (with backoff, up to the policy's timeout) for CDC to catch up.
 */
export async function resolve(
  tables: MaterializedTables,
  policy: WaitPolicy,
  batch: ItemBatch,
): Promise<ItemBatch> {
  const waiting: Promise<void>[] = [];
  // The batch's holder heartbeats while it waits, and stops waiting when it must let go.
  const wait: WaitPolicy = batch.hold
    ? { ...policy, onWait: batch.hold.heartbeat, signal: batch.hold.signal }
    : policy;
  for (const item of batch.items) {
    const p = item.state;
    if (p.stage !== "validated") continue;
    const ctx = () => resolveNow(tables, p.event, p.rule.needs(p.event));
    item.state = settle(item, "resolution", () => ({ ...p, stage: "resolved", ctx: ctx() }));
    const now = item.state;
    if (now.stage !== "failed" || !(now.error instanceof UnresolvedError)) continue;
    // Those still missing a reference wait together, so a batch waits at most one timeout.
    waiting.push(
      resolveWithin(tables, p.event, p.rule.needs(p.event), wait).then(
        (ctx) => {
          item.state = { ...p, stage: "resolved", ctx };
        },
        (e: unknown) => {
          item.state = outcomeOfError(e, item, "resolution", POSTING_ATTEMPTS) as ItemState;
        },
      ),
    );
  }
  await Promise.all(waiting);
  return batch;
}

/** The posting rules proper: pure, so a failure here is either bad input or a defect. */
export function post(batch: ItemBatch): ItemBatch {
  return mapItems(batch, "posting", (p, item) => {
    if (p.stage !== "resolved") return p;
    return { stage: "posted", event: p.event, result: p.rule.post(p.event, p.ctx, item.origin) };
  });
}

/**
 * Vouchers → finance.voucher records. A voucher Postgres would refuse, or too large for the
 * topic, is this event's POSTING_FAILED here, rather than a stalled producer or sink later.
 */
export function encode(
  codec: AvroCodec,
  schemaId: number,
  maxRecordBytes: number,
  batch: ItemBatch,
): ItemBatch {
  return mapItems(batch, "encoding", (p) => {
    if (p.stage !== "posted") return p;
    const messages: Message[] = p.result.vouchers.map((v) => {
      const defects = voucherDefects(v);
      if (defects.length > 0) {
        throw new PostingFailedError(`voucher ${v.idempotencyKey} is not storable: ${defects.join("; ")}`);
      }
      const message = voucherMessage(codec, schemaId, v);
      const bytes = recordBytes(message);
      if (bytes > maxRecordBytes) {
        throw new PostingFailedError(
          `voucher ${v.idempotencyKey} is ${bytes} bytes, more than finance.voucher takes (${maxRecordBytes})`,
        );
      }
      return message;
    });
    return { stage: "encoded", messages, kinds: p.result.vouchers.map((v) => v.kind), skips: p.result.skips };
  });
}
