import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CopyTextWriter, type CopyValue, copyField, joinedChunks } from "../../src/sinks/copy.js";

/** The COPY text the rows stand for, built the plain way. */
const textOf = (rows: readonly (readonly CopyValue[])[]) =>
  rows.map((row) => `${row.map(copyField).join("\t")}\n`).join("");

const writer = new CopyTextWriter();
/** The rows written and taken, as the sink writes a voucher's rows. */
function bytesOf(rows: readonly (readonly CopyValue[])[]): Buffer {
  for (const row of rows) {
    for (const value of row) writer.field(value);
    writer.endRow();
  }
  return writer.take();
}

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

  it("is the rows' text in UTF-8, past its scratch space, and each take a buffer of its own", () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ROWS[i % ROWS.length] as CopyValue[]);
    const first = bytesOf(rows);
    assert.ok(first.length > 1 << 16, "more than the scratch space");
    assert.deepEqual(first, Buffer.from(textOf(rows)));
    const big = "ồ".repeat(50_000);
    assert.equal(bytesOf([["a", big, "b"], ["c"]]).toString(), `a\t${big}\tb\nc\n`);
    assert.deepEqual(first, Buffer.from(textOf(rows)), "a later take does not write over an earlier buffer");
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
      fc.property(fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { maxLength: 8 }), (rows) => {
        assert.deepEqual(bytesOf(rows), Buffer.from(textOf(rows)));
      }),
      { numRuns: 2000 },
    );
  });

  it("takes nothing when nothing was written", () => {
    assert.equal(writer.take().length, 0);
    assert.deepEqual([...joinedChunks([])], []);
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
