import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import avro from "avsc";
import { DecimalType } from "../../src/avro/decimal-type.js";
import { WideLongType } from "../../src/avro/reader-type.js";
import { loadSchema } from "../../src/schemas.js";
import { CDC_TOPICS, valueSubject } from "../../src/topics.js";
import { generateDataset } from "../../tools/simulate/dataset.js";
import { contractType } from "../../tools/simulate/encode.js";

/**
 * The simulator registers the contract schemas under the CDC subjects real Debezium registers
 * under too (a shared registry, BACKWARD per subject): the contract schema must read what
 * Debezium 3.6.1 registered (when the simulator registers after it), Debezium's must read the
 * contract's (when the connector registers after the simulator), and the contract must read
 * what older runs of the simulator registered. The fixtures are the schema the Debezium
 * PostgreSQL connector 3.6.1 registered for nx.seller.public.vendor-value on the stack
 * (Apicurio converter) and the simulator's schema before it wrote Debezium 3.x's fields.
 */
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")) as avro.Schema;

const typeOf = (schema: avro.Schema) =>
  avro.Type.forSchema(schema, {
    logicalTypes: { decimal: DecimalType },
    typeHook: (s: unknown) =>
      s === "long" || (s as { type?: unknown } | null)?.type === "long" ? WideLongType : undefined,
  } as Partial<avro.ForSchemaOptions>);

const debezium = typeOf(fixture("debezium-3.6.1-vendor-value.avsc"));
const older = typeOf(fixture("simulator-2.7-vendor-value.avsc"));
const contract = typeOf(loadSchema(valueSubject(CDC_TOPICS.vendor)) as avro.Schema);

describe("the vendor value schema beside Debezium 3.6.1's and the simulator's older one", () => {
  const vendors = [...generateDataset({ seed: 3, merchants: 3, events: 500 }).cdc()].filter(
    (c) => c.topic === CDC_TOPICS.vendor && c.value !== null,
  );

  it("each reads the other's records (BACKWARD whichever registers last), and the contract reads the older one's", () => {
    assert.doesNotThrow(() => contract.createResolver(debezium));
    assert.doesNotThrow(() => debezium.createResolver(contract));
    assert.doesNotThrow(() => contract.createResolver(older));
  });

  it("the simulator's records, read with Debezium's schema, keep every value (ts_ns exact)", () => {
    const writer = contractType(valueSubject(CDC_TOPICS.vendor), true);
    const resolver = debezium.createResolver(writer);
    assert.ok(vendors.length > 0);
    for (const c of vendors) {
      const read = debezium.fromBuffer(writer.toBuffer(c.value), resolver) as Record<string, unknown>;
      const value = c.value as unknown as Record<string, unknown>;
      assert.equal(read.ts_ns, value.ts_ns);
      // (the fixture's Value has a column the stack's Debezium test added: null here)
      const text = (v: unknown) =>
        JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x))) as unknown;
      const rows: Record<string, unknown> = {};
      for (const side of ["before", "after"]) {
        const row = read[side] as Record<string, unknown> | null;
        const mine = value[side] as Record<string, unknown> | null;
        if (row === null || mine === null) {
          assert.equal(row, mine, side);
          rows[side] = null;
          continue;
        }
        for (const k of Object.keys(row)) if (!(k in mine)) assert.equal(row[k], null, k);
        rows[side] = Object.fromEntries(Object.keys(mine).map((k) => [k, row[k]]));
      }
      assert.deepEqual(text({ ...read, ...rows }), text(value));
    }
  });

  it("an older run's record, read with the contract, has null for Debezium 3.x's fields", () => {
    const old = {
      before: null,
      after: { id: "v-1", merchant_id: "m-1", name: "Acme", status: "ACTIVE" },
      source: {
        version: "2.7.3.Final",
        connector: "postgresql",
        name: "nx",
        ts_ms: 1_767_000_000_000,
        snapshot: "true",
        db: "seller",
        schema: "public",
        table: "vendor",
        txId: 7,
        lsn: 24_000_152,
      },
      op: "r",
      ts_ms: 1_767_000_000_007,
    };
    const read = contract.fromBuffer(older.toBuffer(old), contract.createResolver(older)) as {
      source: Record<string, unknown>;
      transaction: unknown;
      ts_us: unknown;
      ts_ns: unknown;
    };
    assert.equal(read.source.ts_ms, old.source.ts_ms);
    for (const f of ["sequence", "ts_us", "ts_ns", "xmin", "origin", "origin_lsn"])
      assert.equal(read.source[f], null, f);
    assert.deepEqual([read.transaction, read.ts_us, read.ts_ns], [null, null, null]);
  });
});
