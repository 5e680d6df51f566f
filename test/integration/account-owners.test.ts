import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { seededAccountsFor } from "../../src/domain/accounts.js";
import { accountsToPersist } from "../../src/enrich/cdc.js";
import { upsertAccounts } from "../../src/sinks/account-writer.js";
import { migrate } from "../../src/sinks/migrate.js";
import { CDC_TOPICS } from "../../src/topics.js";
import { log } from "../support/log.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/** SPEC §5 "Owners never change", as finance.account keeps them (the sink's copy of accounts). */
describe("finance.account: owners never change", () => {
  let db: ThrowawayDb;
  let pool: pg.Pool;
  const owner = async (id: string) =>
    (await pool.query("SELECT merchant_id, status FROM finance.account WHERE account_id = $1", [id])).rows[0];
  const accountRow = (id: string, merchantId: string, extra: Record<string, unknown> = {}) =>
    accountsToPersist({
      topic: CDC_TOPICS.financeAccount,
      key: { id },
      value: {
        op: "u",
        before: null,
        after: {
          id,
          merchant_id: merchantId,
          code: "BANK",
          name: "Bank",
          type: "MONEY",
          status: "ACTIVE",
          ...extra,
        },
      },
    });

  before(async () => {
    db = await createThrowawayDb();
    pool = db.pool(2);
    await migrate(pool, log);
  });
  after(async () => db?.drop());

  it("a row moving an account to another merchant leaves it with its first owner", async () => {
    const id = `bank-${randomUUID()}`;
    await upsertAccounts(pool, accountRow(id, "m-first"));
    assert.equal(await upsertAccounts(pool, accountRow(id, "m-other", { status: "ARCHIVED" })), 0);
    assert.deepEqual(await owner(id), { merchant_id: "m-first", status: "ACTIVE" });
    assert.equal(await upsertAccounts(pool, accountRow(id, "m-first", { status: "ARCHIVED" })), 1);
    assert.deepEqual(await owner(id), { merchant_id: "m-first", status: "ARCHIVED" });
  });

  it("a seeded id is its merchant's by derivation, whichever row came first", async () => {
    const merchant = `m-${randomUUID()}`;
    const [cash] = seededAccountsFor(merchant);
    assert.ok(cash);
    // An account row naming another owner for the merchant's CASH, before the merchant came.
    await upsertAccounts(pool, accountRow(cash.id, "m-intruder"));
    await upsertAccounts(pool, seededAccountsFor(merchant), "insertMissing");
    assert.deepEqual(await owner(cash.id), { merchant_id: merchant, status: "ACTIVE" });
    // And after it: refused.
    assert.equal(await upsertAccounts(pool, accountRow(cash.id, "m-intruder")), 0);
    assert.equal((await owner(cash.id))?.merchant_id, merchant);
  });

  for (const [column, value] of [
    ["type", "control"],
    ["type", "LIABILITY"],
    ["type", ""],
    ["status", "DELETED"],
    ["status", "active"],
  ] as const) {
    it(`an account row with ${column} ${JSON.stringify(value)} is refused, never guessed`, () => {
      assert.deepEqual(accountRow(`a-${randomUUID()}`, "m", { [column]: value }), []);
    });
  }
});
