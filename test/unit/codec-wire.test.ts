import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AvroCodec } from "../../src/avro/codec.js";
import { money } from "../../src/money.js";

const SCHEMA = {
  type: "record",
  name: "Note",
  fields: [
    { name: "text", type: "string" },
    { name: "amount", type: { type: "bytes", logicalType: "decimal", precision: 19, scale: 4 } },
  ],
};

function codec(): AvroCodec {
  // No registry is asked: the schema is adopted under its id.
  const c = new AvroCodec({ url: "http://127.0.0.1:9" });
  c.adopt(42, SCHEMA);
  return c;
}

describe("AvroCodec.encode: the Confluent wire format", () => {
  it("writes magic byte 0, the schema id big-endian, then the Avro body", () => {
    const wire = codec().encode(42, { text: "hi", amount: money("1.5") });
    assert.deepEqual([...wire.subarray(0, 5)], [0, 0, 0, 0, 42]);
    // "hi": zig-zag length 2 → 0x04, then the bytes; 1.5 at scale 4 is 15000 = 0x3a98.
    assert.deepEqual([...wire.subarray(5)], [0x04, 0x68, 0x69, 0x04, 0x3a, 0x98]);
  });

  it("hands out records that the next encoding does not overwrite", () => {
    const c = codec();
    const first = c.encode(42, { text: "first", amount: money("1") });
    const copy = Buffer.from(first);
    c.encode(42, { text: "second, longer", amount: money("-2.0001") });
    assert.deepEqual(first, copy);
    assert.deepEqual({ ...c.decode<object>(first) }, { text: "first", amount: money("1") });
  });

  it("encodes records of any size, around and past its scratch space", () => {
    const c = codec();
    for (const size of [0, 1, 255 * 1024, 256 * 1024 - 9, 256 * 1024, 300 * 1024, 2 * 1024 * 1024]) {
      const text = "đ".repeat(size / 2) + "x".repeat(size % 2);
      const wire = c.encode(42, { text, amount: money("12345.6789") });
      const back = c.decode<{ text: string; amount: unknown }>(wire);
      assert.equal(back.text, text, `text of ${size} bytes`);
      assert.deepEqual(back.amount, money("12345.6789"));
      assert.equal(wire.readInt32BE(1), 42);
    }
    // and a small one after a large one still comes out whole
    const small = c.decode<object>(c.encode(42, { text: "ok", amount: money("0") }));
    assert.deepEqual({ ...small }, { text: "ok", amount: money("0") });
  });
});
