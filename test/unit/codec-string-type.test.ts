import assert from "node:assert/strict";
import { describe, it } from "node:test";
import avro from "avsc";
import fc from "fast-check";
import { AvroCodec } from "../../src/avro/codec.js";
import { Utf8StringType } from "../../src/avro/string-type.js";

/**
 * The writer types' strings are written by Utf8StringType, which copies ASCII text itself and
 * leaves the rest to avsc: the bytes must be avsc's own, byte for byte, for any text, at any
 * length (the one- and two-byte length prefixes, and the hand-over past 8,191 characters), and
 * when the buffer is too small (avsc's "bytes missing" answer).
 */
const RECORD = {
  type: "record",
  name: "Texts",
  fields: [
    { name: "a", type: "string" },
    { name: "b", type: ["null", "string"] },
    { name: "c", type: { type: "array", items: "string" } },
  ],
};
const avscOwn = avro.Type.forSchema(RECORD as avro.Schema);
const ours = avro.Type.forSchema(RECORD as avro.Schema, {
  typeHook: (s: unknown) => (s === "string" ? new Utf8StringType() : undefined),
});

const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 100 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  fc.string({ maxLength: 70 }).map((s) => `${s}ệ`),
  fc.constantFrom(
    "",
    "\u007f",
    "x\u0080",
    "ệ".repeat(40),
    "a\ud800".repeat(20),
    "\udc00".repeat(30),
    `\ud800${"a".repeat(20)}`,
    "😀".repeat(20),
    "b".repeat(2730),
    "ệ".repeat(2731),
    "a".repeat(63),
    "a".repeat(64),
    "b".repeat(8191),
    "c".repeat(8192),
    "d".repeat(20_000),
  ),
);
const record = fc.record({ a: text, b: fc.option(text), c: fc.array(text, { maxLength: 4 }) });

describe("Utf8StringType", () => {
  it("writes the bytes avsc writes, for any text", () => {
    fc.assert(
      fc.property(record, (r) => {
        assert.deepEqual(ours.toBuffer(r), avscOwn.toBuffer(r));
        const bytes = avscOwn.toBuffer(r);
        assert.deepEqual({ ...ours.fromBuffer(bytes) }, { ...avscOwn.fromBuffer(bytes) });
      }),
      { numRuns: 3_000 },
    );
  });

  it("answers a buffer too small as avsc does (minus the bytes missing), at every size", () => {
    const r = { a: "x".repeat(100), b: "Thu tiền đơn hàng SO-1", c: ["y".repeat(70), "", "ệ".repeat(30)] };
    const need = avscOwn.toBuffer(r).length;
    for (let size = 0; size <= need; size++) {
      assert.equal(ours.encode(r, Buffer.alloc(size)), avscOwn.encode(r, Buffer.alloc(size)), `size ${size}`);
    }
  });

  it("refuses what is not a string, as avsc does", () => {
    assert.throws(() => ours.toBuffer({ a: 7, b: null, c: [] }), /invalid "string": 7/);
  });

  it("is what the codec encodes writer schemas' strings with", () => {
    const codec = new AvroCodec({ url: "http://127.0.0.1:9" });
    codec.adopt(5, RECORD);
    const r = { a: "SALE_RECEIPT:m1", b: "Khách lẻ", c: ["VND"] };
    const own = Utf8StringType.prototype._write;
    let written = 0;
    Utf8StringType.prototype._write = function (this: Utf8StringType, ...args) {
      written++;
      own.apply(this, args);
    };
    try {
      assert.deepEqual(codec.encode(5, r).subarray(5), avscOwn.toBuffer(r));
    } finally {
      Utf8StringType.prototype._write = own;
    }
    assert.equal(written, 3);
  });
});
