import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AvroCodec } from "../../src/avro/codec.js";
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
