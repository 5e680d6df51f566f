import { loadSchema } from "../../../src/schemas.js";
import { SOURCE_TOPICS, type SourceTopic, valueSubject } from "../../../src/topics.js";
import type { Rng } from "./prng.js";

/**
 * Writer schemas other than the contract's, registered under subjects of their own
 * (`fuzz.<name>-value`, compatibility NONE) so the shared topic subjects are left alone:
 * evolved writers (a field dropped, fields added, another decimal scale) and unrelated ones.
 */
export interface VariantSchema {
  name: string;
  schema: unknown;
}

type Json = Record<string, unknown>;
const clone = <T>(v: T): T => structuredClone(v);

export const contractSchema = (topic: SourceTopic): Json => loadSchema(valueSubject(topic));

/** Applies `f` to every record schema (top level and nested) named `name`. */
function onRecord(schema: unknown, name: string, f: (record: Json) => void): void {
  if (Array.isArray(schema)) {
    for (const s of schema) onRecord(s, name, f);
    return;
  }
  if (schema === null || typeof schema !== "object") return;
  const s = schema as Json;
  if (s.type === "record" && s.name === name) f(s);
  for (const v of Object.values(s)) onRecord(v, name, f);
}

const RECORD_OF: Record<SourceTopic, string> = {
  [SOURCE_TOPICS.paymentSuccess]: "PaymentSucceeded",
  [SOURCE_TOPICS.purchaseOrderReceived]: "PurchaseOrderReceived",
  [SOURCE_TOPICS.inventoryIssuedForSale]: "InventoryIssuedForSale",
  [SOURCE_TOPICS.inventoryAdjusted]: "InventoryAdjusted",
};

/** The topic's schema without a field; `path` is `field` or `Record.field` for a nested record. */
export function withoutField(topic: SourceTopic, path: string): unknown {
  const s = clone(contractSchema(topic));
  const [record, field] = path.includes(".")
    ? (path.split(".") as [string, string])
    : [RECORD_OF[topic], path];
  let dropped = false;
  onRecord(s, record, (r) => {
    const fields = r.fields as Json[];
    const i = fields.findIndex((f) => f.name === field);
    if (i >= 0) {
      // A named type defined inline in the dropped field would vanish with it; none of ours is reused.
      fields.splice(i, 1);
      dropped = true;
    }
  });
  if (!dropped) throw new Error(`fuzz harness: no field ${path} in ${topic}`);
  return s;
}

/** Extra fields the reader does not know, top level and nested, in the middle of the field list. */
export function withExtraFields(topic: SourceTopic): unknown {
  const s = clone(contractSchema(topic));
  onRecord(s, RECORD_OF[topic], (r) => {
    const fields = r.fields as Json[];
    fields.splice(1, 0, { name: "fuzzNote", type: "string" });
    fields.splice(4, 0, {
      name: "fuzzMeta",
      type: {
        type: "record",
        name: "FuzzMeta",
        fields: [
          { name: "tags", type: { type: "array", items: "string" } },
          { name: "score", type: "double" },
          { name: "kind", type: { type: "enum", name: "FuzzKind", symbols: ["A", "B"] } },
          { name: "attrs", type: { type: "map", values: "long" } },
        ],
      },
    });
    fields.push({ name: "fuzzMaybe", type: ["null", "int"], default: null });
  });
  onRecord(s, "PaymentAttempt", (r) => {
    (r.fields as Json[]).splice(1, 0, { name: "cardLast4", type: ["null", "string"], default: null });
  });
  onRecord(s, "PurchasePayment", (r) => {
    (r.fields as Json[]).push({ name: "note", type: "string" });
  });
  return s;
}

/**
 * The topic's schema with one more field last, `fuzzNulls: array<null>` (default []): a
 * backward-compatible evolution whose field the reader drops, and whose item count is the
 * record's last bytes (issue 20: five of them claimed 10^10 items and froze the topology).
 */
export function withNullArray(topic: SourceTopic): unknown {
  const s = clone(contractSchema(topic));
  onRecord(s, RECORD_OF[topic], (r) => {
    (r.fields as Json[]).push({ name: "fuzzNulls", type: { type: "array", items: "null" }, default: [] });
  });
  return s;
}

/** Values for the extra fields of withExtraFields (nested ones are added by the caller). */
export const EXTRA_VALUES = {
  fuzzNote: "written by a newer producer",
  fuzzMeta: { tags: ["x", "yz"], score: 0.5, kind: "B", attrs: { a: 1, b: -2 } },
  fuzzMaybe: 7,
};

/** Every decimal of the topic's schema with another scale, or as plain bytes (no logical type). */
export function withDecimals(topic: SourceTopic, as: { scale: number } | "bytes"): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    const o = v as Json;
    if (o.logicalType === "decimal") return as === "bytes" ? "bytes" : { ...o, scale: as.scale };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, k === "default" ? x : walk(x)]));
  };
  return walk(contractSchema(topic));
}

/** Required fields (no default) a writer may lack; the event is then invalid. */
export const REQUIRED_DROPS: Record<SourceTopic, string[]> = {
  [SOURCE_TOPICS.paymentSuccess]: [
    "eventId",
    "occurredAt",
    "merchantId",
    "saleOrderId",
    "saleOrderCode",
    "orderTotal",
    "attempts",
    "PaymentAttempt.uid",
    "PaymentAttempt.amount",
    "PaymentAttempt.method",
  ],
  [SOURCE_TOPICS.purchaseOrderReceived]: [
    "occurredAt",
    "merchantId",
    "purchaseOrderId",
    "receivedValue",
    "payments",
    "PurchasePayment.accountId",
    "PurchasePayment.amount",
  ],
  [SOURCE_TOPICS.inventoryIssuedForSale]: ["merchantId", "saleOrderId", "attemptUid", "costBasis"],
  [SOURCE_TOPICS.inventoryAdjusted]: ["occurredAt", "inventoryTrackingId", "productVariantId", "valueDelta"],
};

/** Fields with a default a writer may lack; the event takes the default and books. */
export const OPTIONAL_DROPS: Record<SourceTopic, string[]> = {
  [SOURCE_TOPICS.paymentSuccess]: [
    "currency",
    "customer",
    "PaymentAttempt.tendered",
    "PaymentAttempt.finance",
  ],
  [SOURCE_TOPICS.purchaseOrderReceived]: ["currency"],
  [SOURCE_TOPICS.inventoryIssuedForSale]: ["currency", "saleOrderCode"],
  [SOURCE_TOPICS.inventoryAdjusted]: ["currency", "reason"],
};

/** A record schema of random shape and name: no reader of ours can resolve it. */
export function randomRecordSchema(rng: Rng, i: number): unknown {
  const types = ["string", "long", "int", "boolean", "double", "bytes", { type: "array", items: "string" }];
  const fields = Array.from({ length: rng.int(1, 6) }, (_, j) => ({
    name: `f${j}_${rng.alnum(4)}`,
    type: rng.chance(0.2) ? ["null", "string"] : rng.pick(types),
  }));
  return { type: "record", name: `Random${i}_${rng.alnum(6)}`, namespace: "fuzz.random", fields };
}

/** A value for a schema made by randomRecordSchema (or a primitive). */
export function randomValueOf(rng: Rng, schema: unknown): unknown {
  if (schema === "string") return rng.alnum(rng.int(0, 20));
  if (schema === "long" || schema === "int") return rng.int(-1_000_000, 1_000_000);
  if (schema === "boolean") return rng.chance(0.5);
  if (schema === "double") return rng.float() * 1000;
  if (schema === "bytes") return rng.bytes(rng.int(0, 20));
  if (Array.isArray(schema)) return rng.chance(0.5) ? null : randomValueOf(rng, schema[1]);
  const s = schema as Json;
  if (s.type === "array") return Array.from({ length: rng.int(0, 3) }, () => randomValueOf(rng, s.items));
  if (s.type === "record") {
    return Object.fromEntries((s.fields as Json[]).map((f) => [f.name, randomValueOf(rng, f.type)]));
  }
  throw new Error(`fuzz harness: no random value for ${JSON.stringify(schema)}`);
}

/** Every variant the corpus uses, by name. */
export function variantSchemas(rng: Rng): VariantSchema[] {
  const out: VariantSchema[] = [];
  for (const topic of Object.values(SOURCE_TOPICS)) {
    for (const f of REQUIRED_DROPS[topic])
      out.push({ name: `${topic}.without-${f}`, schema: withoutField(topic, f) });
    for (const f of OPTIONAL_DROPS[topic])
      out.push({ name: `${topic}.without-${f}`, schema: withoutField(topic, f) });
    out.push({ name: `${topic}.extra-fields`, schema: withExtraFields(topic) });
    out.push({ name: `${topic}.with-nulls`, schema: withNullArray(topic) });
    out.push({ name: `${topic}.scale-2`, schema: withDecimals(topic, { scale: 2 }) });
    out.push({ name: `${topic}.scale-6`, schema: withDecimals(topic, { scale: 6 }) });
    out.push({ name: `${topic}.plain-bytes`, schema: withDecimals(topic, "bytes") });
  }
  for (let i = 0; i < 5; i++) out.push({ name: `random-record-${i}`, schema: randomRecordSchema(rng, i) });
  out.push({ name: "random-string", schema: "string" });
  out.push({ name: "random-long", schema: "long" });
  return out;
}

export const variantSubject = (name: string) => `fuzz.${name}-value`;
