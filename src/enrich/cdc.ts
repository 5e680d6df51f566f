import { type Account, type AccountType, seededAccountsFor } from "../domain/accounts.js";
import type { Logger } from "../log.js";
import { CDC_TOPICS, type CdcTopic } from "../topics.js";
import type { DisownedAccount, MaterializedTables } from "./tables.js";
import type { PutOutcome, RefusalReason } from "./versioned-table.js";

/** A Debezium change event (value), decoded with its writer schema; unknown columns are ignored. */
export interface DebeziumEnvelope {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  op: string;
  /** Debezium's source block; `ts_ms` is the row's commit time in the source database. */
  source?: { ts_ms?: number | null } | null;
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
  /** A new version of the entity; a merchant's first also seeds its accounts. */
  | { kind: "versioned"; seeded: Account[]; disowned: DisownedAccount[] }
  /** Nothing that matters changed. */
  | { kind: "unchanged" }
  /** Seen before (a version held, a refusal reported): a restart re-reading its topics, a change sent again. */
  | { kind: "known" }
  | { kind: "refused"; table: string; reason: RefusalReason; message: string }
  | { kind: "ignored"; why: string };

/** CONTRACTS' columns of each CDC table: all a version needs, and all that is kept of a row. */
export const CDC_COLUMNS: Record<CdcTopic, readonly string[]> = {
  [CDC_TOPICS.merchant]: ["id", "name", "currency", "status"],
  [CDC_TOPICS.financeAccount]: ["id", "merchant_id", "code", "name", "type", "status"],
  [CDC_TOPICS.vendor]: ["id", "merchant_id", "name"],
  [CDC_TOPICS.purchaseOrder]: ["id", "merchant_id", "code", "vendor_id"],
};

const str = (row: Record<string, unknown>, col: string): string => {
  const v = row[col];
  if (typeof v !== "string") throw new TypeError(`column ${col} is not a string`);
  return v;
};
const optStr = (row: Record<string, unknown>, col: string): string | null =>
  typeof row[col] === "string" ? (row[col] as string) : null;

const ACCOUNT_TYPES: readonly string[] = ["MONEY", "CONTROL"] satisfies AccountType[];
const ACCOUNT_STATUSES: readonly string[] = ["ACTIVE", "ARCHIVED"];

/**
 * A finance_account row as an account, or why it is refused: a type or status outside
 * CONTRACTS' values is never guessed at (an account is never taken for a money account).
 */
export function accountFromRow(
  r: Record<string, unknown>,
): Account | { reason: RefusalReason; message: string } {
  const id = str(r, "id");
  const type = r.type;
  const status = r.status;
  if (typeof type !== "string" || !ACCOUNT_TYPES.includes(type)) {
    return { reason: "INVALID_TYPE", message: `account ${id} has type ${JSON.stringify(type ?? null)}` };
  }
  if (typeof status !== "string" || !ACCOUNT_STATUSES.includes(status)) {
    return {
      reason: "INVALID_STATUS",
      message: `account ${id} has status ${JSON.stringify(status ?? null)}`,
    };
  }
  const name = str(r, "name");
  return {
    id,
    merchantId: str(r, "merchant_id"),
    code: optStr(r, "code"),
    name: { en: name, vi: name },
    type: type as AccountType,
    status,
  };
}

type Put = (
  tables: MaterializedTables,
  id: string,
  at: number,
  snapshot: boolean,
  row: Record<string, unknown> | null,
) => CdcOutcome;

const versioned = (outcome: PutOutcome, table: string): CdcOutcome =>
  outcome.kind === "refused"
    ? { ...outcome, table }
    : outcome.kind === "versioned"
      ? { kind: "versioned", seeded: [], disowned: [] }
      : outcome;

const PUTS: Record<CdcTopic, Put> = {
  [CDC_TOPICS.merchant]: (t, id, at, snapshot, r) => {
    const row = r && {
      id: str(r, "id"),
      name: str(r, "name"),
      currency: str(r, "currency"),
      status: str(r, "status"),
    };
    const out = t.putMerchant(id, { at, snapshot, row });
    if (out.kind !== "versioned") return versioned(out, "merchant");
    return { kind: "versioned", seeded: out.seeded ?? [], disowned: out.disowned ?? [] };
  },
  [CDC_TOPICS.financeAccount]: (t, id, at, snapshot, r) => {
    const row = r && accountFromRow(r);
    if (row && "reason" in row) {
      return versioned(
        t.refuseAccount(`${id}\u0000${at}\u0000${row.reason}`, row.reason, row.message),
        "finance_account",
      );
    }
    return versioned(t.putAccount(id, { at, snapshot, row }), "finance_account");
  },
  [CDC_TOPICS.vendor]: (t, id, at, snapshot, r) => {
    const row = r && { id: str(r, "id"), merchantId: str(r, "merchant_id"), name: str(r, "name") };
    return versioned(t.putVendor(id, { at, snapshot, row }), "vendor");
  },
  [CDC_TOPICS.purchaseOrder]: (t, id, at, snapshot, r) => {
    const row = r && {
      id: str(r, "id"),
      merchantId: str(r, "merchant_id"),
      code: str(r, "code"),
      vendorId: str(r, "vendor_id"),
    };
    return versioned(t.putPurchaseOrder(id, { at, snapshot, row }), "purchase_order");
  },
};

/**
 * When the change took effect: Debezium's `source.ts_ms` (the commit in the source database).
 * Without a source block, the connector's own time; without either, the beginning of time.
 */
export const commitTime = (v: DebeziumEnvelope): number => v.source?.ts_ms ?? v.ts_ms ?? 0;

/**
 * Applies one change with Debezium's semantics (SPEC §5): c/r/u make a version of `after` (when
 * a field that matters changed); d closes the entity's last version at its commit time; a
 * tombstone is only a compaction marker; t (truncate) is logged and ignored, because finance
 * must not forget entities that old events may still reference.
 */
export function applyCdc(tables: MaterializedTables, rec: CdcRecord, log: Logger): CdcOutcome {
  const put = PUTS[rec.topic];
  const v = rec.value;
  if (v === null) return { kind: "ignored", why: "tombstone" };
  switch (v.op) {
    case "c":
    case "r":
    case "u": {
      if (!v.after) return { kind: "ignored", why: `op ${v.op} without after` };
      return put(tables, str(v.after, "id"), commitTime(v), v.op === "r", v.after);
    }
    case "d": {
      const id = rec.key?.id ?? (v.before ? optStr(v.before, "id") : null);
      if (!id) return { kind: "ignored", why: "delete without key or before.id" };
      return put(tables, id, commitTime(v), false, null);
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
 * (deterministic, so re-seeding is a no-op upsert) or the CDC'd account row itself, unless it
 * is refused for its type or status (its owner is kept by the writer).
 */
export function accountsToPersist(rec: CdcRecord): Account[] {
  const v = rec.value;
  if (!v?.after || !["c", "r", "u"].includes(v.op)) return [];
  if (rec.topic === CDC_TOPICS.merchant) return seededAccountsFor(str(v.after, "id"));
  if (rec.topic !== CDC_TOPICS.financeAccount) return [];
  const account = accountFromRow(v.after);
  return "reason" in account ? [] : [account];
}
