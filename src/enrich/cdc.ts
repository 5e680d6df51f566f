import { type Account, seededAccountsFor } from "../domain/accounts.js";
import type { Logger } from "../log.js";
import { CDC_TOPICS, type CdcTopic } from "../topics.js";
import { accountType, type MaterializedTables } from "./tables.js";

/** A Debezium change event (value), decoded with its writer schema; unknown columns are ignored. */
export interface DebeziumEnvelope {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  op: string;
  ts_ms?: number | null;
}

export interface CdcRecord {
  topic: CdcTopic;
  /** The Debezium key `{id}`; null only for a malformed record. */
  key: { id: string } | null;
  /** null is a tombstone. */
  value: DebeziumEnvelope | null;
}

export type CdcOutcome =
  | { kind: "upserted"; seeded: Account[] }
  | { kind: "deleted" }
  | { kind: "ignored"; why: string };

interface TableOps {
  upsert(tables: MaterializedTables, row: Record<string, unknown>): Account[];
  remove(tables: MaterializedTables, id: string): void;
}

const str = (row: Record<string, unknown>, col: string): string => {
  const v = row[col];
  if (typeof v !== "string") throw new TypeError(`column ${col} is not a string`);
  return v;
};
const optStr = (row: Record<string, unknown>, col: string): string | null =>
  typeof row[col] === "string" ? (row[col] as string) : null;

function accountFromRow(r: Record<string, unknown>): Account {
  const name = str(r, "name");
  return {
    id: str(r, "id"),
    merchantId: str(r, "merchant_id"),
    code: optStr(r, "code"),
    name: { en: name, vi: name },
    type: accountType(str(r, "type")),
    status: str(r, "status"),
  };
}

const OPS: Record<CdcTopic, TableOps> = {
  [CDC_TOPICS.merchant]: {
    upsert: (t, r) =>
      t.upsertMerchant({
        id: str(r, "id"),
        name: str(r, "name"),
        currency: str(r, "currency"),
        status: str(r, "status"),
      }),
    remove: (t, id) => t.deleteMerchant(id),
  },
  [CDC_TOPICS.financeAccount]: {
    upsert: (t, r) => {
      t.upsertAccount(accountFromRow(r));
      return [];
    },
    remove: (t, id) => t.deleteAccount(id),
  },
  [CDC_TOPICS.vendor]: {
    upsert: (t, r) => {
      t.upsertVendor({ id: str(r, "id"), merchantId: str(r, "merchant_id"), name: str(r, "name") });
      return [];
    },
    remove: (t, id) => t.deleteVendor(id),
  },
  [CDC_TOPICS.purchaseOrder]: {
    upsert: (t, r) => {
      t.upsertPurchaseOrder({
        id: str(r, "id"),
        merchantId: str(r, "merchant_id"),
        code: str(r, "code"),
        vendorId: str(r, "vendor_id"),
      });
      return [];
    },
    remove: (t, id) => t.deletePurchaseOrder(id),
  },
};

/**
 * Applies one change with Debezium's semantics: c/r/u upsert `after`; d removes the row; a
 * tombstone removes it again (harmless); t (truncate) is logged and ignored, because finance
 * must not forget entities that old events may still reference.
 */
export function applyCdc(tables: MaterializedTables, rec: CdcRecord, log: Logger): CdcOutcome {
  const ops = OPS[rec.topic];
  const v = rec.value;
  if (v === null) {
    if (!rec.key) return { kind: "ignored", why: "tombstone without key" };
    ops.remove(tables, rec.key.id);
    return { kind: "deleted" };
  }
  switch (v.op) {
    case "c":
    case "r":
    case "u":
      if (!v.after) return { kind: "ignored", why: `op ${v.op} without after` };
      return { kind: "upserted", seeded: ops.upsert(tables, v.after) };
    case "d": {
      const id = rec.key?.id ?? (v.before ? optStr(v.before, "id") : null);
      if (!id) return { kind: "ignored", why: "delete without key or before.id" };
      ops.remove(tables, id);
      return { kind: "deleted" };
    }
    case "t":
      log.warn({ topic: rec.topic }, "truncate on a CDC table ignored: finance keeps the rows it has");
      return { kind: "ignored", why: "truncate" };
    default:
      return { kind: "ignored", why: `unknown op ${v.op}` };
  }
}

/**
 * The finance accounts a change implies for `finance.account`: a merchant's seeded accounts
 * (deterministic, so re-seeding is a no-op upsert) or the CDC'd account row itself.
 */
export function accountsToPersist(rec: CdcRecord): Account[] {
  const v = rec.value;
  if (!v?.after || !["c", "r", "u"].includes(v.op)) return [];
  if (rec.topic === CDC_TOPICS.merchant) return seededAccountsFor(str(v.after, "id"));
  if (rec.topic === CDC_TOPICS.financeAccount) return [accountFromRow(v.after)];
  return [];
}
