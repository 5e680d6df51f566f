import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type CopyValue, copyChunks, copyField, copyText, joinedChunks } from "../../src/sinks/copy.js";

/** The COPY text the rows stand for, built the plain way. */
const textOf = (rows: readonly (readonly CopyValue[])[]) =>
  rows.map((row) => `${row.map(copyField).join("\t")}\n`).join("");

/** All chunks taken first, then joined: a chunk written again after it was yielded would show. */
const bytesOf = (rows: readonly (readonly CopyValue[])[], chunkBytes?: number) =>
  Buffer.concat([...copyChunks(rows, chunkBytes)]);

const VIETNAMESE = "Thanh toán đơn hàng — Cửa hàng Phở Hà Nội";
const ROWS: CopyValue[][] = [
  ["a\tb", "line\nbreak", "back\\slash", "cr\r", null, 7, "0.0000"],
  [VIETNAMESE, "emoji 🧾 and 𝔘", -12, "", null, "x", "1234567890.1234"],
  ["\\N", "tab\tin\tthe\tmiddle", 0, "plain", "đồng", null, "1.0000"],
];

describe("COPY text", () => {
  it("escapes backslash, tab, newline and CR, writes null as \\N and numbers as digits", () => {
    assert.equal(
      bytesOf([ROWS[0] as CopyValue[]]).toString(),
      "a\\tb\tline\\nbreak\tback\\\\slash\tcr\\r\t\\N\t7\t0.0000\n",
    );
    assert.equal(copyField("\\N"), "\\\\N", "a text that looks like null is not null");
  });

  it("is the rows' text in UTF-8, whatever the chunk size, multi-byte characters and rows split across chunks", () => {
    const rows = Array.from({ length: 50 }, (_, i) => ROWS[i % ROWS.length] as CopyValue[]);
    const expected = Buffer.from(textOf(rows));
    for (const size of [1, 2, 3, 5, 16, 64, 100, 1000, 1 << 16]) {
      assert.deepEqual(bytesOf(rows, size), expected, `chunks of ${size} bytes`);
    }
  });

  it("keeps chunks near their size, and gives a field larger than a chunk a chunk of its own", () => {
    const big = "ồ".repeat(5000);
    const chunks = [...copyChunks([["a", big, "b"], ["c"]], 1024)];
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(`a\t${big}\tb\nc\n`));
    assert.ok(
      chunks.some((c) => c.toString().includes(big)),
      "the large field is not split",
    );
    const small = [
      ...copyChunks(
        Array.from({ length: 400 }, () => [VIETNAMESE, 1, null]),
        1024,
      ),
    ];
    assert.ok(small.length > 10);
    for (const c of small) assert.ok(c.length <= 1024, `a chunk of ${c.length} bytes`);
  });

  it("is the plain way's text for any fields: ASCII, COPY's specials, any unicode, lone surrogates", () => {
    const field = fc.oneof(
      fc.string({
        unit: fc.constantFrom("a", "Z", "0", " ", "\\", "\t", "\n", "\r", "\u0001", "\u007f"),
        maxLength: 12,
      }),
      fc.string({ unit: "binary", maxLength: 12 }),
      fc.string({ unit: fc.constantFrom("x", "ồ", "\ud800", "\udc00", "😀", "\t"), maxLength: 12 }),
      // past the length from which a field is written natively
      fc.string({
        unit: fc.constantFrom("a", "-", "ồ", "\ud800", "😀", "\\", "\n"),
        minLength: 20,
        maxLength: 60,
      }),
      fc.string({ unit: fc.constantFrom("a", "0", "-", ":"), minLength: 20, maxLength: 160 }),
      fc.integer(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 80 }),
        (rows, size) => {
          assert.deepEqual(bytesOf(rows, size), Buffer.from(textOf(rows)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("gives no chunk for no rows", () => {
    assert.deepEqual([...copyChunks([])], []);
  });

  it("gives rows as one buffer of their text, however large, and each call its own buffer", () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ROWS[i % ROWS.length] as CopyValue[]);
    const first = copyText(rows);
    assert.deepEqual(first, Buffer.from(textOf(rows)));
    const second = copyText([ROWS[0] as CopyValue[]]);
    assert.deepEqual(first, Buffer.from(textOf(rows)), "a later call does not write over an earlier buffer");
    assert.equal(second.toString(), textOf([ROWS[0] as CopyValue[]]));
  });
});

describe("COPY text pieces joined into chunks", () => {
  it("keeps their bytes and order in chunks of at most the size, a larger piece alone", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 500 }),
        (arrays, size) => {
          const pieces = arrays.map((a) => Buffer.from(a));
          const chunks = [...joinedChunks(pieces, size)];
          assert.deepEqual(Buffer.concat(chunks), Buffer.concat(pieces));
          for (const c of chunks) {
            assert.ok(c.length <= size || pieces.some((p) => p.equals(c) && p.length > size), `${c.length}`);
          }
          // no two neighbouring chunks would have fit in one
          for (let i = 1; i < chunks.length; i++) {
            assert.ok((chunks[i - 1] as Buffer).length + (chunks[i] as Buffer).length > size);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
