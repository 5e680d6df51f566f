import type { AvroCodec } from "../avro/codec.js";
import { resolveNow, resolveWithin, type WaitPolicy } from "../enrich/resolve.js";
import type { MaterializedTables } from "../enrich/tables.js";
import { isPostingError, PostingError, UnresolvedError } from "../errors.js";
import { ruleFor, type SourceEvent } from "../rules/index.js";
import type { Item, ItemBatch, Progress, SourceBatch } from "./items.js";

/** Any failure a stage can pin on the event becomes its dead-letter outcome; anything else propagates. */
function failOrThrow(e: unknown): Progress {
  if (isPostingError(e)) return { stage: "failed", error: e };
  throw e;
}

/** Bytes → event, with the writer's schema (fetched once per schema id). */
export async function decode(codec: AvroCodec, batch: SourceBatch): Promise<ItemBatch> {
  await codec.prepare(batch.records.map((r) => r.value));
  const rule = ruleFor(batch.topic);
  const items = batch.records.map((record): Item => {
    const origin = {
      eventId: "",
      topic: batch.topic,
      partition: batch.partition,
      offset: Number(record.offset),
    };
    try {
      const event = codec.decode<SourceEvent>(record.value);
      origin.eventId = typeof event.eventId === "string" ? event.eventId : "";
      return { record, origin, progress: { stage: "decoded", event, rule } };
    } catch (e) {
      return { record, origin, progress: failOrThrow(e) };
    }
  });
  const last = batch.records.at(-1);
  const nextOffset = last ? (BigInt(last.offset) + 1n).toString() : "0";
  return { topic: batch.topic, partition: batch.partition, items, nextOffset };
}

export function validate(batch: ItemBatch): ItemBatch {
  return mapItems(batch, (p) => {
    if (p.stage !== "decoded") return p;
    try {
      p.rule.validate(p.event);
      return { ...p, stage: "validated" };
    } catch (e) {
      return failOrThrow(e);
    }
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
  const items: Item[] = [];
  for (const item of batch.items) {
    const p = item.progress;
    if (p.stage !== "validated") {
      items.push(item);
      continue;
    }
    const needs = p.rule.needs(p.event);
    let progress: Progress;
    try {
      progress = { ...p, stage: "resolved", ctx: resolveNow(tables, p.event.merchantId, needs) };
    } catch (e) {
      if (!(e instanceof UnresolvedError)) progress = failOrThrow(e);
      else {
        progress = await resolveWithin(tables, p.event.merchantId, needs, policy).then(
          (ctx): Progress => ({ ...p, stage: "resolved", ctx }),
          failOrThrow,
        );
      }
    }
    items.push({ ...item, progress });
  }
  return { ...batch, items };
}

/** The posting rules proper: pure, so a failure here is either bad input or a bug. */
export function post(batch: ItemBatch): ItemBatch {
  return mapItems(batch, (p, item) => {
    if (p.stage !== "resolved") return p;
    try {
      return { stage: "posted", event: p.event, result: p.rule.post(p.event, p.ctx, item.origin) };
    } catch (e) {
      if (e instanceof PostingError) return failOrThrow(e);
      throw new Error(
        `posting rule failed on ${item.origin.topic}@${item.origin.offset}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  });
}

function mapItems(batch: ItemBatch, f: (p: Progress, item: Item) => Progress): ItemBatch {
  return { ...batch, items: batch.items.map((item) => ({ ...item, progress: f(item.progress, item) })) };
}
