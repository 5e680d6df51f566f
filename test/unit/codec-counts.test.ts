import assert from "node:assert/strict";
import { describe, it } from "node:test";
import avro from "avsc";
import { AvroCodec } from "../../src/avro/codec.js";
import { CountError, countGuard, ZERO_SIZE_ITEMS_LIMIT } from "../../src/avro/count-guard.js";
import { readerType } from "../../src/avro/reader-type.js";
import { UndecodableError } from "../../src/errors.js";
import { CONTRACT_SUBJECTS, loadSchema, readerOf } from "../../src/schemas.js";
import { avroLong } from "../support/avro-long.js";

const framed = (schemaId: number, ...parts: Buffer[]) => {
  const header = Buffer.alloc(5);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, ...parts]);
};

const str = (s: string) => Buffer.concat([avroLong(Buffer.byteLength(s)), Buffer.from(s)]);

const record = (name: string, fields: { name: string; type: unknown; default?: unknown }[]) => ({
  type: "record",
  name,
  fields,
});

// One writer schema per hostile shape, each a string then the field under test, all named R.
const SHAPES = {
  nulls: record("R", [
    { name: "id", type: "string" },
    { name: "tags", type: { type: "array", items: "null" }, default: [] },
  ]),
  longs: record("R", [
    { name: "id", type: "string" },
    { name: "xs", type: { type: "array", items: "long" }, default: [] },
  ]),
  nullMap: record("R", [
    { name: "id", type: "string" },
    { name: "m", type: { type: "map", values: "null" }, default: {} },
  ]),
  nested: record("R", [
    { name: "id", type: "string" },
    { name: "xss", type: { type: "array", items: { type: "array", items: "null" } }, default: [] },
  ]),
  empties: record("R", [
    { name: "id", type: "string" },
    { name: "es", type: { type: "array", items: record("Empty", []) }, default: [] },
  ]),
  strings: record("R", [
    { name: "id", type: "string" },
    { name: "ss", type: { type: "array", items: "string" }, default: [] },
  ]),
} as const;
const IDS = { nulls: 1, longs: 2, nullMap: 3, nested: 4, empties: 5, strings: 6 } as const;

/** The reader of every shape: only the id, so a resolving decode skips the field under test. */
const ID_ONLY = readerType(record("R", [{ name: "id", type: "string" }]));

function codec(): AvroCodec {
  const c = new AvroCodec({ url: "http://127.0.0.1:9" });
  for (const [shape, id] of Object.entries(IDS)) c.adopt(id, SHAPES[shape as keyof typeof SHAPES]);
  return c;
}

/** Undecodable, both read as written and resolved to a reader that skips the field, within 50 ms. */
function assertUndecodableQuickly(
  c: AvroCodec,
  wire: Buffer,
  readers: (avro.Type | undefined)[] = [undefined],
) {
  for (const reader of readers) {
    const started = performance.now();
    assert.throws(() => c.decode(wire, reader), UndecodableError);
    const ms = performance.now() - started;
    assert.ok(ms < 50, `took ${ms.toFixed(1)} ms`);
  }
}

describe("Avro counts that cannot be true make the record UNDECODABLE in milliseconds", () => {
  const c = codec();
  const both = [undefined, ID_ONLY];

  for (const claimed of [1e10, 123_456_789_012, 1e15, 4e15]) {
    it(`array<null>: trailing bytes claiming ${claimed} items`, () => {
      const tail = avroLong(claimed);
      assert.ok(tail.length <= 8);
      assertUndecodableQuickly(c, framed(IDS.nulls, str("p-1"), tail), both);
    });
    it(`array<long>: ${claimed} items of at least a byte with a few bytes left`, () => {
      assertUndecodableQuickly(
        c,
        framed(IDS.longs, str("p-1"), avroLong(claimed), avroLong(1), avroLong(0)),
        both,
      );
    });
    it(`map<null>, empty records: ${claimed} entries`, () => {
      assertUndecodableQuickly(
        c,
        framed(IDS.nullMap, str("p-1"), avroLong(claimed), str("k"), avroLong(0)),
        both,
      );
      assertUndecodableQuickly(c, framed(IDS.empties, str("p-1"), avroLong(claimed), avroLong(0)), both);
    });
  }

  it("nested arrays: a few outer items, each claiming a share that adds up past the cap", () => {
    const inner = Math.ceil(ZERO_SIZE_ITEMS_LIMIT / 3) + 1;
    const inners = [0, 1, 2].map(() => Buffer.concat([avroLong(inner), avroLong(0)]));
    assertUndecodableQuickly(c, framed(IDS.nested, str("p-1"), avroLong(3), ...inners, avroLong(0)), both);
    // and an outer count that the inner arrays' bytes cannot hold
    assertUndecodableQuickly(
      c,
      framed(IDS.nested, str("p-1"), avroLong(1e12), avroLong(0), avroLong(0)),
      both,
    );
  });

  it("a zero-size block repeated past the cap, a few bytes per block", () => {
    const blocks = Array.from({ length: 5 }, () => avroLong(ZERO_SIZE_ITEMS_LIMIT / 4));
    assertUndecodableQuickly(c, framed(IDS.nulls, str("p-1"), ...blocks, avroLong(0)), both);
  });

  it("negative counts with bogus byte sizes: negative, past the end, not the items' size", () => {
    const items = Buffer.concat([avroLong(7), avroLong(8)]);
    for (const size of [-5, -1e12, 1e12, 1, items.length + 1]) {
      const wire = framed(IDS.longs, str("p-1"), avroLong(-2), avroLong(size), items, avroLong(0));
      assertUndecodableQuickly(c, wire, both);
    }
    // a huge negative count of zero-size items, its size 0 (true for zero-size items)
    assertUndecodableQuickly(
      c,
      framed(IDS.nulls, str("p-1"), avroLong(-1e15), avroLong(0), avroLong(0)),
      both,
    );
    // and of strings, claiming a size that is there
    const tail = Buffer.alloc(16, 1);
    assertUndecodableQuickly(
      c,
      framed(IDS.strings, str("p-1"), avroLong(-1e12), avroLong(16), tail, avroLong(0)),
      both,
    );
  });

  it("a string length past the end, a varint longer than 10 bytes", () => {
    assertUndecodableQuickly(
      c,
      framed(IDS.strings, str("p-1"), avroLong(1), avroLong(1e15), Buffer.from("ab")),
      both,
    );
    const endless = Buffer.alloc(12, 0xff);
    assertUndecodableQuickly(c, framed(IDS.longs, str("p-1"), avroLong(1), endless, avroLong(0)), both);
  });

  it("the message says what was claimed", () => {
    assert.throws(
      () => c.decode(framed(IDS.nulls, str("p-1"), avroLong(1e10))),
      (e: Error) =>
        e instanceof UndecodableError &&
        /schema id 1/.test(e.message) &&
        /10000000000 items of a zero-size type/.test(e.message),
    );
  });
});

describe("good records with arrays and maps still decode", () => {
  const c = codec();

  it("as written and resolved, including blocks with a byte size (negative counts)", () => {
    const ok = (id: number, ...parts: Buffer[]) =>
      c.decode<Record<string, unknown>>(framed(id, str("p-1"), ...parts));
    assert.deepEqual(ok(IDS.nulls, avroLong(3), avroLong(0)).tags, [null, null, null]);
    assert.deepEqual(ok(IDS.nulls, avroLong(ZERO_SIZE_ITEMS_LIMIT), avroLong(0)).tags?.constructor, Array);
    assert.deepEqual(
      ok(IDS.longs, avroLong(2), avroLong(7), avroLong(-8), avroLong(1), avroLong(9), avroLong(0)).xs,
      [7, -8, 9],
    );
    const sized = Buffer.concat([avroLong(7), avroLong(300)]);
    assert.deepEqual(ok(IDS.longs, avroLong(-2), avroLong(sized.length), sized, avroLong(0)).xs, [7, 300]);
    assert.deepEqual(
      { ...(ok(IDS.nullMap, avroLong(2), str("a"), str("b"), avroLong(0)).m as object) },
      { a: null, b: null },
    );
    assert.deepEqual(ok(IDS.nested, avroLong(2), avroLong(1), avroLong(0), avroLong(0), avroLong(0)).xss, [
      [null],
      [],
    ]);
    assert.deepEqual(ok(IDS.strings, avroLong(-1), avroLong(4), str("abc"), avroLong(0)).ss, ["abc"]);
    // the reader that drops the field skips blocks by their byte size
    const skipped = c.decode<{ id: string }>(
      framed(IDS.longs, str("p-1"), avroLong(-2), avroLong(sized.length), sized, avroLong(0)),
      ID_ONLY,
    );
    assert.equal(skipped.id, "p-1");
  });

  it("random values of every contract schema pass the check and decode as written", () => {
    const c2 = new AvroCodec({ url: "http://127.0.0.1:9" });
    CONTRACT_SUBJECTS.forEach((subject, i) => {
      c2.adopt(100 + i, loadSchema(subject));
      const plain = avro.Type.forSchema(loadSchema(subject) as avro.Schema); // decimals as plain bytes
      for (let n = 0; n < 200; n++) {
        const value = plain.random();
        const wire = framed(100 + i, plain.toBuffer(value));
        assert.doesNotThrow(() => c2.decode(wire), `${subject} #${n}`);
        assert.doesNotThrow(() => c2.decode(wire, readerOf(subject)), `${subject} #${n} resolved`);
      }
    });
  });

  it("a writer type without arrays or maps has nothing to check", () => {
    assert.equal(
      countGuard(avro.Type.forSchema(record("Flat", [{ name: "s", type: "string" }]) as avro.Schema)),
      null,
    );
    const guard = countGuard(avro.Type.forSchema(SHAPES.nulls as avro.Schema));
    assert.ok(guard);
    assert.throws(() => guard(Buffer.concat([str("x"), avroLong(1e10)])), CountError);
  });
});
