import type { Account } from "../domain/accounts.js";
import type { Db } from "./db.js";
import { asInfraError } from "./pg-errors.js";

/**
 * `replace`: the incoming row is the latest truth (finance_account CDC) and overwrites a
 * different stored one — of the same owner only: owners never change (SPEC §5), so a row
 * naming another merchant leaves the account as it was. `insertMissing`: seeding creates
 * absent rows, so re-seeding a merchant never reverts an account the merchant has since
 * renamed; a seeded id is owned by derivation, so a row stored for it under another merchant
 * (an account row that came before its merchant did) is replaced by the seeded account.
 */
export type AccountWriteMode = "replace" | "insertMissing";

const INSERT = `
  INSERT INTO finance.account AS a (account_id, merchant_id, code, name_en, name_vi, type, status)
  SELECT id, merchant_id, code, name_en, name_vi, type, status
  FROM jsonb_to_recordset($1::jsonb)
    AS x(id text, merchant_id text, code text, name_en text, name_vi text, type text, status text)
  ON CONFLICT (account_id) DO`;

const UPDATE_ALL = ` UPDATE SET merchant_id = EXCLUDED.merchant_id, code = EXCLUDED.code, name_en = EXCLUDED.name_en,
      name_vi = EXCLUDED.name_vi, type = EXCLUDED.type, status = EXCLUDED.status, updated_at = now()`;

const ON_CONFLICT: Record<AccountWriteMode, string> = {
  insertMissing: `${UPDATE_ALL} WHERE a.merchant_id <> EXCLUDED.merchant_id`,
  // the WHERE keeps unchanged replays from rewriting rows (and bumping updated_at)
  replace: `${UPDATE_ALL}
    WHERE a.merchant_id = EXCLUDED.merchant_id
      AND (a.code, a.name_en, a.name_vi, a.type, a.status)
      IS DISTINCT FROM (EXCLUDED.code, EXCLUDED.name_en, EXCLUDED.name_vi, EXCLUDED.type, EXCLUDED.status)`,
};

/** Writes accounts in one statement; returns how many rows were created or changed. */
export async function upsertAccounts(
  db: Db,
  accounts: readonly Account[],
  mode: AccountWriteMode = "replace",
): Promise<number> {
  // one statement may not touch a row twice: the last version of an id wins, as in the CDC stream
  const latest = new Map(accounts.map((a) => [a.id, a]));
  if (latest.size === 0) return 0;
  const rows = [...latest.values()].map((a) => ({
    id: a.id,
    merchant_id: a.merchantId,
    code: a.code,
    name_en: a.name.en,
    name_vi: a.name.vi,
    type: a.type,
    status: a.status,
  }));
  try {
    const res = await db.query(INSERT + ON_CONFLICT[mode], [JSON.stringify(rows)]);
    return res.rowCount ?? 0;
  } catch (e) {
    throw asInfraError(e, "upsert accounts");
  }
}
