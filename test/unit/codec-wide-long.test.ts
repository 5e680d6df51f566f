import assert from "node:assert/strict";
import { describe, it } from "node:test";
import avro from "avsc";
import fc from "fast-check";
import { AvroCodec } from "../../src/avro/codec.js";
import { WideLongType } from "../../src/avro/reader-type.js";
import { avroLong } from "../support/avro-long.js";

/**
 * Debezium 3.x writes `ts_ns` (nanoseconds since 1970, about 1.8e18, past 2^53) in the envelope
 * and the source block. avsc's own long refuses such a value ("potential precision loss"), which
 * made every real Debezium record undecodable; a writer schema's longs are read exactly.
 */
const ENVELOPE = {
  type: "record",
  name: "Envelope",
  namespace: "nx.seller.public.vendor",
  fields: [
    { name: "op", type: "string" },
    { name: "ts_ms", type: ["null", "long"], default: null },
    { name: "ts_ns", type: ["null", "long"], default: null },
  ],
};

const wire = (id: number, body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), body]);

describe("AvroCodec: longs of a writer schema past 2^53", () => {
  const TS_NS = 1_795_000_000_123_456_789n;
  // op "c"; then each union's branch 1 (long, zig-zag 2) and its value.
  const body = Buffer.from([0x02, 0x63, 0x02, ...avroLong(1_795_000_000_123n), 0x02, ...avroLong(TS_NS)]);

  it("decodes them exactly (a bigint where a number would lose precision), the rest as numbers", () => {
    const codec = new AvroCodec({ url: "http://127.0.0.1:9" });
    codec.adopt(7, ENVELOPE);
    const decoded = codec.decode<{ op: string; ts_ms: unknown; ts_ns: unknown }>(wire(7, body));
    assert.equal(decoded.op, "c");
    assert.equal(decoded.ts_ms, 1_795_000_000_123);
    assert.equal(decoded.ts_ns, TS_NS);
  });
});

describe("WideLongType: the plain varint path within ±2^52 and the exact path beyond", () => {
  const wide = avro.Type.forSchema(
    { type: "array", items: "long" },
    {
      typeHook: (s: unknown) => (s === "long" ? WideLongType : undefined),
    },
  );
  /** The exact 8-byte path alone, as WideLongType read and wrote every long before. */
  const exactOnly = avro.Type.forSchema(
    { type: "array", items: "long" },
    {
      typeHook: (s: unknown) =>
        s === "long"
          ? avro.types.LongType.__with({
              fromBuffer: (b: Buffer) => {
                const n = b.readBigInt64LE();
                return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
                  ? Number(n)
                  : n;
              },
              toBuffer: (n: number | bigint) => {
                const b = Buffer.alloc(8);
                b.writeBigInt64LE(BigInt(n));
                return b;
              },
              fromJSON: Number,
              toJSON: Number,
              isValid: () => true,
              compare: () => 0,
            })
          : undefined,
    },
  );
  const edges = [0, 1, -1, 2 ** 30, -(2 ** 30), 2 ** 52 - 1, -(2 ** 52) + 1, 2 ** 52, -(2 ** 52)];
  const longs = fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.maxSafeInteger(),
    fc.constantFrom(...edges, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  );
  /** What a long reads back as: a number when safe, else a bigint. */
  const value = (n: number | bigint) =>
    typeof n === "bigint" && n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(n)
      : n;

  it("writes the bytes of the exact path and reads them back exactly, for any long", () => {
    fc.assert(
      fc.property(fc.array(longs, { maxLength: 8 }), (ns) => {
        const bytes = wide.toBuffer(ns);
        assert.deepEqual(bytes, exactOnly.toBuffer(ns));
        assert.deepEqual(wide.fromBuffer(bytes), ns.map(value));
      }),
      { numRuns: 3_000 },
    );
  });

  it("reads ±2^53 and the 64-bit extremes exactly, where doubles would round", () => {
    for (const n of [2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      assert.deepEqual(wide.fromBuffer(exactOnly.toBuffer([n])), [n]);
    }
  });
});
