import type { CopyValue } from "./copy.js";
import type { VoucherJson } from "./voucher-json.js";

type LineJson = VoucherJson["lines"][number];

/**
 * One column of a table: its name, the voucher field it holds (a dotted path; `name?` marks an
 * object that may be null, all its columns null together), the value written for it, and how
 * the stored value reads back as that field's JSON, when not as it is.
 */
type Column<T> = readonly [
  column: string,
  field: string,
  value: (row: T) => CopyValue,
  read?: (sql: string) => string,
];

const asText = (sql: string) => `${sql}::text`;

/**
 * finance.voucher's columns, in the order they are staged and inserted: the one place that says
 * which voucher field each column holds. The COPY into staging, the INSERT and the stored
 * voucher the conflict query reads back are all derived from it. (Not the content hash: its
 * layout is versioned and stays as it is when a column is added; see content-hash.ts.)
 */
export const VOUCHER_COLUMNS: readonly Column<VoucherJson>[] = [
  ["voucher_id", "voucherId", (v) => v.voucherId],
  ["idempotency_key", "idempotencyKey", (v) => v.idempotencyKey],
  ["merchant_id", "merchantId", (v) => v.merchantId],
  ["type", "type", (v) => v.type],
  ["kind", "kind", (v) => v.kind],
  ["category", "category", (v) => v.category],
  ["currency", "currency", (v) => v.currency],
  ["amount", "amount", (v) => v.amount, asText],
  ["party_type", "party.type", (v) => v.party.type],
  ["party_id", "party.id", (v) => v.party.id],
  ["party_name_en", "party.name?.en", (v) => v.party.name?.en ?? null],
  ["party_name_vi", "party.name?.vi", (v) => v.party.name?.vi ?? null],
  ["reason_en", "reason.en", (v) => v.reason.en],
  ["reason_vi", "reason.vi", (v) => v.reason.vi],
  ["source_type", "source.type", (v) => v.source.type],
  ["source_id", "source.id", (v) => v.source.id],
  ["source_code", "source.code", (v) => v.source.code],
  ["event_id", "origin.eventId", (v) => v.origin.eventId],
  ["origin_topic", "origin.topic", (v) => v.origin.topic],
  ["origin_partition", "origin.partition", (v) => v.origin.partition],
  ["origin_offset", "origin.offset", (v) => v.origin.offset],
  [
    "occurred_at",
    "occurredAt",
    (v) => new Date(v.occurredAt).toISOString(),
    (sql) => `(extract(epoch FROM ${sql}) * 1000)::bigint`,
  ],
];

/** finance.ledger_line's columns after voucher_id, which ties each line to its voucher. */
export const LINE_COLUMNS: readonly Column<LineJson>[] = [
  ["line_no", "lineNo", (l) => l.lineNo],
  ["account_id", "accountId", (l) => l.accountId],
  ["account_code", "accountCode", (l) => l.accountCode],
  ["side", "side", (l) => l.side],
  ["amount", "amount", (l) => l.amount, asText],
];

export const namesOf = <T>(columns: readonly Column<T>[]) => columns.map(([name]) => name);
type JsonNode = { sql: string } | { fields: Map<string, JsonNode>; nullable: boolean; nullWhen: string };

/** `jsonb_build_object(...)` of the columns of table alias `alias`, nested as their fields. */
function jsonOf<T>(columns: readonly Column<T>[], alias: string, more: [string, string][] = []): string {
  const root = new Map<string, JsonNode>();
  for (const [column, field, , read] of columns) {
    const sql = read ? read(`${alias}.${column}`) : `${alias}.${column}`;
    const path = field.split(".");
    let fields = root;
    for (const step of path.slice(0, -1)) {
      const name = step.replace(/\?$/, "");
      let node = fields.get(name);
      if (!node) {
        node = { fields: new Map(), nullable: step.endsWith("?"), nullWhen: `${alias}.${column} IS NULL` };
        fields.set(name, node);
      }
      if (!("fields" in node)) throw new Error(`column ${column}: ${name} is both a value and an object`);
      fields = node.fields;
    }
    fields.set(path.at(-1) as string, { sql });
  }
  for (const [name, sql] of more) root.set(name, { sql });
  const build = (fields: Map<string, JsonNode>): string =>
    `jsonb_build_object(${[...fields].map(([name, node]) => `'${name}', ${sqlOf(node)}`).join(", ")})`;
  const sqlOf = (node: JsonNode): string => {
    if ("sql" in node) return node.sql;
    const object = build(node.fields);
    return node.nullable ? `CASE WHEN ${node.nullWhen} THEN NULL ELSE ${object} END` : object;
  };
  return build(root);
}

/** The stored voucher `v` (a finance.voucher row) with its lines, as the voucher's JSON. */
export const STORED_VOUCHER_JSON = jsonOf(VOUCHER_COLUMNS, "v", [
  [
    "lines",
    `(SELECT jsonb_agg(${jsonOf(LINE_COLUMNS, "l")} ORDER BY l.line_no)
      FROM finance.ledger_line l WHERE l.voucher_id = v.voucher_id)`,
  ],
]);
