import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import avro from "avsc";
import { AvroCodec } from "../../src/avro/codec.js";
import { encodeUnscaled } from "../../src/avro/decimal-type.js";
import type { InventoryAdjusted } from "../../src/domain/events.js";
import { InvalidPayloadError, UndecodableError } from "../../src/errors.js";
import { money } from "../../src/money.js";
import { validateEnvelope } from "../../src/rules/validation.js";
import { loadSchema, readerOf } from "../../src/schemas.js";
import { SOURCE_TOPICS, valueSubject } from "../../src/topics.js";
import { ensureStack } from "../support/stack.js";

type Field = { name: string; type: unknown; default?: unknown };
const CONTRACT = loadSchema(valueSubject(SOURCE_TOPICS.inventoryAdjusted)) as { fields: Field[] };
const reader = readerOf(valueSubject(SOURCE_TOPICS.inventoryAdjusted));

/** The contract's InventoryAdjusted as another writer might have it: fields dropped, changed or added. */
function writerSchema(o: {
  drop?: string[];
  change?: Record<string, unknown>;
  add?: Field[];
  name?: string;
}) {
  const fields = CONTRACT.fields
    .filter((f) => !o.drop?.includes(f.name))
    .map((f) => (o.change && f.name in o.change ? { name: f.name, type: o.change[f.name] } : f));
  return {
    type: "record",
    name: o.name ?? "InventoryAdjusted",
    namespace: "nx.inventory",
    fields: [...fields, ...(o.add ?? [])],
  };
}

const base = {
  eventId: "e-1",
  occurredAt: Date.UTC(2026, 0, 15),
  merchantId: "m-1",
  currency: "VND",
  inventoryTrackingId: "it-1",
  productVariantId: "pv-1",
  valueDelta: encodeUnscaled(123456n),
  reason: null,
};

/**
 * CONTRACTS "Schema evolution": events are decoded with the writer's schema resolved to the
 * project's reader schema, against the real registry.
 */
describe("writer schemas resolved to the reader schema (real registry)", () => {
  const run = randomUUID().slice(0, 8);
  let codec: AvroCodec;
  let n = 0;

  /** Registers `schema` as a writer, writes `record` with it (plain avsc, no logical types), frames it. */
  async function written(schema: object, record: Record<string, unknown>): Promise<Buffer> {
    const id = await codec.register(`resolution-${run}-${n++}-value`, schema, "NONE");
    const header = Buffer.alloc(5);
    header.writeInt32BE(id, 1);
    const body = avro.Type.forSchema(schema as avro.Schema).toBuffer(record);
    await codec.prepare([Buffer.concat([header, body])]);
    return Buffer.concat([header, body]);
  }
  const decode = (value: Buffer) => codec.decode<InventoryAdjusted>(value, reader);

  before(async () => {
    await ensureStack();
    codec = new AvroCodec({
      url: process.env.SCHEMA_REGISTRY_URL ?? "http://127.0.0.1:8081/apis/ccompat/v7",
    });
  });

  it("fills what the writer lacks from the reader's defaults and drops what the reader does not know", async () => {
    const { currency: _c, reason: _r, ...rest } = base;
    const value = await written(
      writerSchema({ drop: ["currency", "reason"], add: [{ name: "note", type: "string" }] }),
      {
        ...rest,
        note: "unknown to us",
      },
    );
    const event = decode(value);
    assert.equal(event.currency, "VND");
    assert.equal(event.reason, null);
    assert.equal("note" in event, false);
    assert.equal(event.valueDelta.toFixed(4), "12.3456");
  });

  it("refuses a writer that lacks a field without a default (INVALID_PAYLOAD, not a stalled partition)", async () => {
    const { occurredAt: _o, ...rest } = base;
    const value = await written(writerSchema({ drop: ["occurredAt"] }), rest);
    assert.throws(() => decode(value), InvalidPayloadError);
  });

  it("refuses a record of another name", async () => {
    const value = await written(writerSchema({ name: "SomethingElse" }), base);
    assert.throws(() => decode(value), InvalidPayloadError);
  });

  it("reads a decimal of another scale exactly", async () => {
    const decimal2 = { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 };
    const value = await written(writerSchema({ change: { valueDelta: decimal2 } }), {
      ...base,
      valueDelta: encodeUnscaled(-1234n),
    });
    assert.ok(decode(value).valueDelta.equals(money("-12.34")));
  });

  it("reads plain bytes as the reader's decimal (scale 4)", async () => {
    const value = await written(writerSchema({ change: { valueDelta: "bytes" } }), base);
    assert.ok(decode(value).valueDelta.equals(money("12.3456")));
  });

  it("reads a decimal on fixed exactly", async () => {
    const fixed = { type: "fixed", name: "D", size: 8, logicalType: "decimal", precision: 18, scale: 4 };
    const eight = Buffer.alloc(8, 0xff);
    eight.writeBigInt64BE(-1234n);
    const value = await written(writerSchema({ change: { valueDelta: fixed } }), {
      ...base,
      valueDelta: eight,
    });
    assert.ok(decode(value).valueDelta.equals(money("-0.1234")));
  });

  it("refuses money of a type that is no decimal", async () => {
    const value = await written(writerSchema({ change: { valueDelta: "double" } }), {
      ...base,
      valueDelta: 1.5,
    });
    assert.throws(() => decode(value), InvalidPayloadError);
  });

  it("decodes a timestamp beyond 2^53, for validation to refuse with a precise message", async () => {
    const bigLong = avro.types.LongType.__with({
      fromBuffer: (b: Buffer) => b.readBigInt64LE(),
      toBuffer: (v: bigint) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(v);
        return b;
      },
      fromJSON: BigInt,
      toJSON: Number,
      isValid: (v: unknown) => typeof v === "bigint",
      compare: () => 0,
    });
    const schema = writerSchema({ change: { occurredAt: "long" } });
    const id = await codec.register(`resolution-${run}-big-value`, schema, "NONE");
    const body = avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigLong } }).toBuffer({
      ...base,
      occurredAt: 2n ** 60n,
    });
    const header = Buffer.alloc(5);
    header.writeInt32BE(id, 1);
    const value = Buffer.concat([header, body]);
    await codec.prepare([value]);
    const event = decode(value);
    assert.equal(event.occurredAt as unknown, 2n ** 60n);
    assert.throws(() => validateEnvelope(event), /occurredAt .* out of range/);
  });

  it("calls a truncated payload UNDECODABLE", async () => {
    const value = await written(writerSchema({}), base);
    assert.throws(() => decode(value.subarray(0, value.length - 3)), UndecodableError);
  });
});
