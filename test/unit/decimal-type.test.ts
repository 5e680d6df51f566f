import assert from "node:assert/strict";
import { describe, it } from "node:test";
import avro from "avsc";
import fc from "fast-check";
import {
  DecimalType,
  decodeUnscaled,
  encodeSafeInteger,
  encodeUnscaled,
  withScale,
} from "../../src/avro/decimal-type.js";
import { type Money, money } from "../../src/money.js";

const DECIMAL = { type: "bytes", logicalType: "decimal", precision: 19, scale: 4 } as const;
const type = avro.Type.forSchema(DECIMAL as unknown as avro.Schema, {
  logicalTypes: { decimal: DecimalType },
});

describe("decimal logical type", () => {
  const cases = [
    "0",
    "1",
    "-1",
    "0.0001",
    "-0.0001",
    "123456789.1234",
    "-98765.4321",
    "999999999999999.9999",
    "-999999999999999.9999",
    "12345678901234.5678",
    "0.5",
    "-128",
    "127",
    "128",
    "-129",
    "255",
    "256",
  ];
  for (const text of cases) {
    it(`round-trips ${text} exactly`, () => {
      const decoded = type.fromBuffer(type.toBuffer(money(text))) as ReturnType<typeof money>;
      assert.ok(decoded.equals(money(text)), `${decoded.toString()} != ${text}`);
    });
  }

  // Bytes as java.math.BigInteger#toByteArray writes the unscaled value (Java Avro's DecimalConversion).
  const javaVectors: [string, number[]][] = [
    ["0", [0x00]],
    ["0.0001", [0x01]],
    ["-0.0001", [0xff]],
    ["0.0128", [0x00, 0x80]],
    ["-0.0128", [0x80]],
    ["-0.0129", [0xff, 0x7f]],
    ["1", [0x27, 0x10]],
    ["-1", [0xd8, 0xf0]],
    ["100000", [0x3b, 0x9a, 0xca, 0x00]],
    ["999999999999999.9999", [0x00, 0x8a, 0xc7, 0x23, 0x04, 0x89, 0xe7, 0xff, 0xff]],
    ["-999999999999999.9999", [0xff, 0x75, 0x38, 0xdc, 0xfb, 0x76, 0x18, 0x00, 0x01]],
  ];
  for (const [text, bytes] of javaVectors) {
    it(`decodes Java's big-endian two's complement bytes for ${text}`, () => {
      assert.ok(decodeUnscaled(Buffer.from(bytes)).div(10000).equals(money(text)));
      assert.deepEqual([...encodeUnscaled(BigInt(money(text).times(10000).toFixed(0)))], bytes);
    });
  }

  it("refuses a value with more places than the scale instead of rounding", () => {
    assert.throws(() => type.toBuffer(money("1.00001")), /more than 4 decimal places/);
  });

  it("refuses a value beyond precision 19", () => {
    assert.throws(() => type.toBuffer(money("1000000000000000")), /exceeds precision/);
  });

  it("decodes a writer's different scale to the exact value it meant", () => {
    const scale6 = avro.Type.forSchema({ ...DECIMAL, scale: 6 } as unknown as avro.Schema, {
      logicalTypes: { decimal: DecimalType },
    });
    const v = scale6.fromBuffer(scale6.toBuffer(money("1.000001"))) as ReturnType<typeof money>;
    assert.equal(v.toString(), "1.000001");
  });

  it("writes safe integers with the same bytes as the BigInt path", () => {
    const edges = [
      0,
      1,
      -1,
      127,
      128,
      -128,
      -129,
      255,
      256,
      32767,
      32768,
      -32768,
      -32769,
      2 ** 31,
      -(2 ** 31),
    ];
    const values = [...edges, 2 ** 53 - 1, -(2 ** 53 - 1)];
    for (let i = 0; i < 2_000; i++) values.push(Math.floor(Math.sin(i) * 10 ** (i % 16)));
    for (const v of values) {
      assert.deepEqual(encodeSafeInteger(v), encodeUnscaled(BigInt(v)), String(v));
    }
  });

  it("writes exactly the reference two's-complement bytes for thousands of amounts, and reads them back", () => {
    const bytes = avro.Type.forSchema("bytes");
    const texts = [
      "0",
      "-0",
      "1",
      "-1",
      "0.0001",
      "-0.0001",
      "0.5",
      "10000",
      "1.5",
      "123456.7891",
      "-98765.4321",
      "999999999999999.9999",
      "-999999999999999.9999",
      "900719925474.0991",
      "900719925474.0993",
      "1e10",
      "12345678901234",
      "0.00010",
      "5000000",
      "1234567.1",
      "70000000",
      "-2500000.25",
    ];
    for (let i = 0; i < 3_000; i++) {
      const int = Math.floor(Math.abs(Math.sin(i + 1)) * 10 ** (i % 16));
      const frac = String((i * 7919) % 10_000)
        .padStart(4, "0")
        .slice(0, i % 5);
      texts.push(`${i % 3 === 0 ? "-" : ""}${int}${frac ? `.${frac}` : ""}`);
    }
    for (const t of texts) {
      const reference = encodeUnscaled(BigInt(money(t).toFixed(4).replace(".", "")));
      assert.deepEqual(type.toBuffer(money(t)), bytes.toBuffer(reference), t);
      assert.ok((type.fromBuffer(type.toBuffer(money(t))) as ReturnType<typeof money>).equals(money(t)), t);
    }
    for (const t of ["0.00001", "1.23456", "1e16", "-1e19", "NaN", "Infinity"]) {
      assert.throws(() => type.toBuffer(money(t)), t);
    }
  });
});

describe("decimal logical type: whole amounts below 10^7 read as numbers", () => {
  const BYTES = avro.Type.forSchema("bytes");
  it("read the same decimals as the text path, at every scale, for any unscaled value of up to 6 bytes", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -(2 ** 47), max: 2 ** 47 - 1 }),
          fc.integer({ min: -(10 ** 7), max: 10 ** 7 }).map((n) => n * 10_000),
          fc.constantFrom(
            0,
            9_999_999 * 10_000,
            10_000_000 * 10_000,
            -9_999_999 * 10_000,
            -10_000_000 * 10_000,
          ),
        ),
        fc.integer({ min: 0, max: 18 }),
        (unscaled, scale) => {
          const t = avro.Type.forSchema(
            { type: "bytes", logicalType: "decimal", precision: 19, scale } as never,
            {
              logicalTypes: { decimal: DecimalType },
            },
          );
          const read = t.fromBuffer(BYTES.toBuffer(encodeSafeInteger(unscaled))) as Money;
          const viaText = money(withScale(String(unscaled), scale));
          assert.ok(read.equals(viaText), `${read} != ${viaText}`);
          assert.equal(read.toString(), viaText.toString());
          assert.deepEqual([read.d, read.e, read.s], [viaText.d, viaText.e, viaText.s]);
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
