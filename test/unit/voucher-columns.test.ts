import assert from "node:assert/strict";
import { describe, it } from "node:test";
import avro from "avsc";
import { loadSchema } from "../../src/schemas.js";
import { LINE_COLUMNS, STORED_VOUCHER_JSON, VOUCHER_COLUMNS } from "../../src/sinks/voucher-columns.js";
import { VOUCHER_TOPIC, valueSubject } from "../../src/topics.js";

/**
 * Every leaf field of a record type as a dotted path, in schema order; `name?` marks a record
 * that may be null, `lines.` the fields of the records in an array.
 */
function leafFields(type: avro.Type, prefix = ""): string[] {
  if (!(type instanceof avro.types.RecordType)) return [prefix.slice(0, -1)];
  return type.fields.flatMap((f) => {
    let t = f.type;
    let nullable = false;
    if (t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType) {
      const types: avro.Type[] = t.types;
      nullable = types.some((u) => u.typeName === "null");
      t = types.find((u) => u.typeName !== "null") as avro.Type;
    }
    if (t instanceof avro.types.ArrayType) t = t.itemsType;
    if (!(t instanceof avro.types.RecordType)) return [`${prefix}${f.name}`];
    return leafFields(t, `${prefix}${f.name}${nullable ? "?" : ""}.`);
  });
}

describe("finance.voucher's column table", () => {
  it("holds every field of the contract's Voucher schema, in its order, and nothing else", () => {
    const schema = avro.Type.forSchema(loadSchema(valueSubject(VOUCHER_TOPIC)) as avro.Schema);
    const columns = [
      ...VOUCHER_COLUMNS.map(([, field]) => field),
      ...LINE_COLUMNS.map(([, field]) => `lines.${field}`),
    ];
    assert.deepEqual(columns, leafFields(schema));
  });

  it("reads a nullable object back as null when its columns are null", () => {
    assert.match(
      STORED_VOUCHER_JSON,
      /'name', CASE WHEN v\.party_name_en IS NULL THEN NULL ELSE jsonb_build_object\('en', v\.party_name_en, 'vi', v\.party_name_vi\) END/,
    );
  });
});
