import type { PoolClient } from "pg";
import type { Voucher, VoucherKind } from "../domain/voucher.js";
import { voucherIdOf } from "../ids.js";
import type { Logger } from "../log.js";
import { unescapedKey } from "../rules/voucher-builder.js";
import { type BookableVoucher, bookableVoucher } from "./bookable-voucher.js";
import { contentHash, isLegacyHash } from "./content-hash.js";
import { copyRows } from "./copy.js";
import { type Db, inTransaction } from "./db.js";
import { isContentRefusal } from "./pg-errors.js";
import { LINE_COLUMNS, namesOf, STORED_VOUCHER_JSON, VOUCHER_COLUMNS } from "./voucher-columns.js";
import { type VoucherJson, voucherJson, voucherJsonDefects } from "./voucher-json.js";

export type KindCounts = Partial<Record<VoucherKind, number>>;

export type { VoucherJson } from "./voucher-json.js";

export interface ContentConflict {
  /** The key of the voucher that stands: the incoming copy's, or the legacy key it is stored under. */
  key: string;
  storedHash: string;
  incomingHash: string;
  /** The version that stands (stored earlier, or the first copy in this same batch). */
  stored: VoucherJson;
  incoming: VoucherJson;
}

export interface BatchResult {
  inserted: KindCounts;
  replayed: KindCounts;
  conflicts: ContentConflict[];
  /**
   * How the batch went in: its new vouchers COPYed straight into the tables, the rest found to
   * be replays by a probe (see copiedDirectly); or staged and inserted with ON CONFLICT.
   */
  via: "copy" | "staging";
}

interface Staged {
  v: BookableVoucher;
  /** Its voucher id as Postgres prints a uuid, which is how the sink matches rows to copies. */
  id: string;
  ord: number;
}

/** Staged and inserted: the voucher's columns, then the hash of its content. */
const VOUCHER_ROW = [...namesOf(VOUCHER_COLUMNS), "content_hash"];
const LINE_ROW = ["voucher_id", ...namesOf(LINE_COLUMNS)];

/**
 * For the whole write transaction. The planner overestimates its short statements (the
 * unanalyzed temp tables; the probe of a batch of many keys) and JIT-compiled them for ~200 ms.
 */
const NO_JIT = "SET LOCAL jit = off";

/**
 * Session temp tables emptied by every commit: created once per connection (IF NOT EXISTS is
 * a no-op afterwards), which measured ~15-20% faster than CREATE ... ON COMMIT DROP per batch.
 * LIKE keeps them in step with the migrated tables.
 */
const STAGING_DDL = `
  SET LOCAL client_min_messages = warning;
  CREATE TEMP TABLE IF NOT EXISTS stage_voucher (ord int NOT NULL, LIKE finance.voucher INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_line (LIKE finance.ledger_line) ON COMMIT DELETE ROWS`;

const cols = VOUCHER_ROW.join(", ");
/**
 * First copy of each voucher wins (DISTINCT ON by batch order); lines follow only the vouchers
 * this statement really inserted. Vouchers are inserted in voucher-id order so two writers that
 * overlap during a rebalance lock rows in the same order. By voucher_id, the primary key and the
 * UUID v5 of the key, which makes the key unique (migration 2): the key itself has no btree.
 */
const INSERT_SQL = `
  WITH ins AS (
    INSERT INTO finance.voucher (${cols})
    SELECT DISTINCT ON (voucher_id) ${cols} FROM pg_temp.stage_voucher ORDER BY voucher_id, ord
    ON CONFLICT (voucher_id) DO NOTHING
    RETURNING voucher_id
  ), lines AS (
    INSERT INTO finance.ledger_line (${LINE_ROW.join(", ")})
    SELECT ${LINE_ROW.map((c) => `l.${c}`).join(", ")} FROM pg_temp.stage_line l JOIN ins USING (voucher_id)
  )
  SELECT voucher_id FROM ins`;

/** Every listed staged copy ($1, by ord) whose content differs from the row that now stands for it. */
const CONFLICTS_SQL = `
  SELECT s.ord, v.content_hash AS stored_hash, ${STORED_VOUCHER_JSON} AS stored
  FROM pg_temp.stage_voucher s
  -- OFFSET 0 keeps this a per-row index probe: unfenced, the planner may hash the whole table
  CROSS JOIN LATERAL (SELECT * FROM finance.voucher v WHERE v.voucher_id = s.voucher_id OFFSET 0) v
  WHERE s.ord = ANY($1::int[]) AND v.content_hash <> s.content_hash
  ORDER BY s.ord`;

/**
 * One row per distinct wrong version; seeing it again only bumps its counter. By the key's md5
 * (migration 2), so a key of any size is recorded.
 */
const RECORD_CONFLICTS_SQL = `
  INSERT INTO finance.content_conflict (idempotency_key, stored_hash, incoming_hash, incoming, stored, occurrences)
  SELECT key, stored_hash, incoming_hash, incoming, stored, n
  FROM jsonb_to_recordset($1::jsonb)
    AS x(key text, stored_hash text, incoming_hash text, incoming jsonb, stored jsonb, n int)
  ON CONFLICT ((md5(idempotency_key)), incoming_hash) DO UPDATE
  SET occurrences = finance.content_conflict.occurrences + EXCLUDED.occurrences, last_detected_at = now()`;

/**
 * Why a voucher cannot be booked as it is (a posting bug, or content Postgres would refuse),
 * or null when it can: checked before writing, so the sink refuses such a voucher on its own.
 */
export function unwritableReason(v: VoucherJson): string | null {
  const defects = voucherJsonDefects(v);
  return defects.length === 0 ? null : `voucher ${v.idempotencyKey} cannot be booked: ${defects.join("; ")}`;
}

function assertWritable(v: VoucherJson): void {
  const reason = unwritableReason(v);
  if (reason !== null) throw new Error(reason);
}

function bump(counts: KindCounts, kind: VoucherKind): void {
  counts[kind] = (counts[kind] ?? 0) + 1;
}

/**
 * Rewrites hashes stored in the legacy layout once their content has been compared, so each
 * old voucher is compared field by field only the first time it is replayed.
 */
async function upgradeLegacyHashes(client: PoolClient, hashes: ReadonlyMap<string, string>): Promise<void> {
  if (hashes.size === 0) return;
  await client.query(
    `UPDATE finance.voucher v SET content_hash = x.hash
     FROM unnest($1::uuid[], $2::text[]) AS x(id, hash) WHERE v.voucher_id = x.id`,
    [[...hashes.keys()], [...hashes.values()]],
  );
}

/** A copy that differs from the voucher that stands for it, and the conflict recorded for it. */
interface Conflicting {
  copy: Staged;
  conflict: ContentConflict;
}

async function recordConflicts(client: PoolClient, conflicting: readonly Conflicting[]): Promise<void> {
  const distinct = new Map<string, { c: ContentConflict; n: number }>();
  for (const { conflict: c } of conflicting) {
    const id = `${c.key}\u0000${c.incomingHash}`;
    const seen = distinct.get(id);
    if (seen) seen.n++;
    else distinct.set(id, { c, n: 1 });
  }
  const rows = [...distinct.values()].map(({ c, n }) => ({
    key: c.key,
    stored_hash: c.storedHash,
    incoming_hash: c.incomingHash,
    incoming: c.incoming,
    stored: c.stored,
    n,
  }));
  await client.query(RECORD_CONFLICTS_SQL, [JSON.stringify(rows)]);
}

/** uuid order, the order Postgres sorts a uuid column in, so a COPY and a staging insert lock alike. */
const byVoucherId = (a: Staged, b: Staged) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The ledger-line rows of these vouchers, each tied to its voucher. */
const lineRowsOf = (staged: readonly Staged[]) => staged.map((s) => s.v.lineRows);

/** The staged vouchers' rows, each led by its place in the batch (`ord`). */
function stagedRowsOf(staged: readonly Staged[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (const s of staged) pieces.push(Buffer.from(`${s.ord}\t`), s.v.row);
  return pieces;
}

const STORED_HASHES_SQL =
  "SELECT voucher_id, content_hash FROM finance.voucher WHERE voucher_id = ANY($1::uuid[])";

/** The first copy of each voucher in a batch, by voucher id. */
type FirstCopies = ReadonlyMap<string, Staged>;

/**
 * The copies of a batch whose vouchers nothing holds yet, when every other copy is a replay: its
 * voucher is stored, or came earlier in the batch, with the same content hash. Null when some
 * copy differs from what stands for it (a conflict to record, or a legacy hash to compare), which
 * the staging path sorts out. One primary-key probe per voucher, so a redelivered or replayed
 * batch costs a read rather than a staged insert.
 */
async function newCopiesIfOnlyReplays(
  client: PoolClient,
  pending: readonly Staged[],
  firstOf: FirstCopies,
): Promise<Staged[] | null> {
  if (pending.length === 0) return [];
  const ids = distinctIds(pending);
  const { rows } = await client.query<{ voucher_id: string; content_hash: string }>(STORED_HASHES_SQL, [ids]);
  const stored = new Map(rows.map((r) => [r.voucher_id, r.content_hash]));
  const fresh: Staged[] = [];
  for (const s of pending) {
    const first = firstOf.get(s.id) as Staged;
    const standing = stored.get(s.id) ?? (first === s ? undefined : first.v.hash);
    if (standing === undefined) fresh.push(s);
    else if (standing !== s.v.hash) return null;
  }
  return fresh;
}

const distinctIds = (staged: readonly Staged[]) => [...new Set(staged.map((s) => s.id))];

/**
 * New vouchers COPYed straight into the tables: 15–20% less Postgres CPU per voucher than
 * staging them and inserting with ON CONFLICT. Inside a savepoint, so when Postgres refuses
 * anything (a voucher another instance stored since the probe, during a rebalance; or content it
 * rejects) the batch rolls back to before it and false sends the caller down the staging path,
 * which sorts replays, conflicts and refusals out as it always has. In voucher-id order, the
 * staging insert's order too, so two writers COPYing or inserting overlapping batches take
 * their row locks in the same order.
 */
async function copiedDirectly(client: PoolClient, fresh: readonly Staged[]): Promise<boolean> {
  if (fresh.length === 0) return true;
  await client.query("SAVEPOINT direct_copy");
  try {
    const rows = [...fresh].sort(byVoucherId).map((s) => s.v.row);
    await copyRows(client, "finance.voucher", VOUCHER_ROW, rows);
    await copyRows(client, "finance.ledger_line", LINE_ROW, lineRowsOf(fresh));
  } catch (e) {
    if (!isContentRefusal(e)) throw e;
    await client.query("ROLLBACK TO SAVEPOINT direct_copy");
    return false;
  }
  await client.query("RELEASE SAVEPOINT direct_copy");
  return true;
}

/**
 * Stages the copies and inserts the first of each voucher nothing holds yet; returns the ids
 * it inserted and the copies that differ from what stands for them, recorded as conflicts.
 */
async function stagedInsert(
  client: PoolClient,
  staged: readonly Staged[],
  pending: readonly Staged[],
  firstOf: FirstCopies,
): Promise<{ inserted: Set<string>; conflicts: Conflicting[] }> {
  const isFirst = (s: Staged) => firstOf.get(s.id) === s;
  // later copies of a voucher inside the batch are replays: their lines are never needed
  const firstLines = lineRowsOf(pending.filter(isFirst));
  await client.query(STAGING_DDL);
  await copyRows(client, "pg_temp.stage_voucher", ["ord", ...VOUCHER_ROW], stagedRowsOf(pending));
  await copyRows(client, "pg_temp.stage_line", LINE_ROW, firstLines);
  const { rows } = await client.query<{ voucher_id: string }>(INSERT_SQL);
  const inserted = new Set(rows.map((r) => r.voucher_id));
  const conflicts: Conflicting[] = [];
  // Only the copies this statement did not insert can differ from what stands for them.
  const notInserted = pending.filter((s) => !(isFirst(s) && inserted.has(s.id))).map((s) => s.ord);
  if (notInserted.length === 0) return { inserted, conflicts };
  const differing = await client.query<{ ord: number; stored_hash: string; stored: VoucherJson }>(
    CONFLICTS_SQL,
    [notInserted],
  );
  const legacy = differing.rows.filter((row) => isLegacyHash(row.stored_hash));
  const current = new Map(legacy.map((row) => [row.stored.voucherId, contentHash(row.stored)]));
  await upgradeLegacyHashes(client, current);
  for (const row of differing.rows) {
    const s = staged[row.ord] as Staged;
    // A legacy hash also covered occurredAt: compare the stored content by today's layout.
    if (current.get(row.stored.voucherId) === s.v.hash) continue;
    conflicts.push({
      copy: s,
      conflict: {
        key: s.v.idempotencyKey,
        storedHash: row.stored_hash,
        incomingHash: s.v.hash,
        stored: row.stored,
        incoming: s.v.json(),
      },
    });
  }
  if (conflicts.length > 0) await recordConflicts(client, conflicts);
  return { inserted, conflicts };
}

/** What tells a voucher's source document apart: a stored voucher's JSON, or a voucher. */
type DocumentOf = Pick<VoucherJson, "idempotencyKey" | "kind" | "merchantId" | "source">;

/**
 * The voucher that stands for a document under its legacy key, which an escaped copy is judged
 * against: stored by an older version, or the legacy-keyed copy in this same batch.
 */
interface LegacyStanding {
  doc: DocumentOf & { voucherId: string };
  /** Its hash as stored, for the conflict record. */
  storedHash: string;
  /** Its hash in today's layout, which a replay's hash equals. */
  hash: string;
  /** The voucher that stands, for the conflict record. */
  stored: VoucherJson;
}

const STORED_VOUCHERS_SQL = `
  SELECT v.content_hash, ${STORED_VOUCHER_JSON} AS stored FROM finance.voucher v
  WHERE v.voucher_id = ANY($1::uuid[])`;

/** The copies whose key has escapes, by the voucher id of their legacy (unescaped) key. */
function legacyCandidates(staged: readonly Staged[]): Map<string, Staged[]> {
  const byLegacyId = new Map<string, Staged[]>();
  for (const s of staged) {
    const legacyKey = unescapedKey(s.v.idempotencyKey);
    if (legacyKey === s.v.idempotencyKey) continue;
    const id = voucherIdOf(legacyKey);
    const copies = byLegacyId.get(id);
    if (copies) copies.push(s);
    else byLegacyId.set(id, [s]);
  }
  return byLegacyId;
}

/**
 * The stored vouchers with these ids, as standings. A hash of the legacy layout also covered
 * occurredAt: it is compared by today's layout, and rewritten so, as the staging path does.
 */
async function storedStandings(client: PoolClient, ids: string[]): Promise<Map<string, LegacyStanding>> {
  const { rows } = await client.query<{ content_hash: string; stored: VoucherJson }>(STORED_VOUCHERS_SQL, [
    ids,
  ]);
  const standings = new Map<string, LegacyStanding>();
  const upgraded = new Map<string, string>();
  for (const { content_hash, stored } of rows) {
    const hash = isLegacyHash(content_hash) ? contentHash(stored) : content_hash;
    if (hash !== content_hash) upgraded.set(stored.voucherId, hash);
    standings.set(stored.voucherId, { doc: stored, storedHash: content_hash, hash, stored });
  }
  await upgradeLegacyHashes(client, upgraded);
  return standings;
}

function batchStanding(first: Staged): LegacyStanding {
  const stored = first.v.json();
  return { doc: stored, storedHash: first.v.hash, hash: first.v.hash, stored };
}

/**
 * Whether the standing voucher is the one booked for this copy's document under its legacy key:
 * that key, and the same kind, merchant and source document. Two documents whose ids shared one
 * legacy key (order `SO-1:A` attempt `1`, order `SO-1` attempt `A:1`) differ in their source
 * id or merchant, so only the one that was booked matches; the other is new.
 */
function isLegacyCopy(standing: DocumentOf, v: VoucherJson): boolean {
  return (
    standing.idempotencyKey === unescapedKey(v.idempotencyKey) &&
    standing.kind === v.kind &&
    standing.merchantId === v.merchantId &&
    standing.source.type === v.source.type &&
    standing.source.id === v.source.id
  );
}

/**
 * SPEC §3 across the upgrade to escaped keys: a copy whose ids contain `:` or `%` may already be
 * stored by an older version, under its unescaped key and that key's voucher id — or be in this
 * batch under it, from the voucher topic's backlog of that version. Each such copy is a replay
 * of that voucher, or a conflict with it (recorded), and is never inserted. One query, and only
 * for copies whose keys have escapes, so a batch of plain ids costs nothing more.
 * Returns the copies it settled and the conflicts among them.
 */
async function settleLegacyCopies(
  client: PoolClient,
  staged: readonly Staged[],
  firstOf: FirstCopies,
): Promise<{ settled: Set<Staged>; conflicts: Conflicting[] }> {
  const settled = new Set<Staged>();
  const conflicts: Conflicting[] = [];
  const candidates = legacyCandidates(staged);
  if (candidates.size === 0) return { settled, conflicts };
  const stored = await storedStandings(client, [...candidates.keys()]);
  for (const [legacyId, copies] of candidates) {
    const inBatch = firstOf.get(legacyId);
    const standing = stored.get(legacyId) ?? (inBatch && batchStanding(inBatch));
    if (!standing) continue;
    for (const s of copies) {
      const incoming = s.v.json();
      if (!isLegacyCopy(standing.doc, incoming)) continue;
      settled.add(s);
      // the same content booked under the standing voucher's identity is what a replay hashes to
      const { voucherId, idempotencyKey } = standing.doc;
      const asStanding = contentHash({ ...incoming, voucherId, idempotencyKey });
      if (asStanding === standing.hash) continue;
      conflicts.push({
        copy: s,
        conflict: {
          key: idempotencyKey,
          storedHash: standing.storedHash,
          incomingHash: asStanding,
          stored: standing.stored,
          incoming,
        },
      });
    }
  }
  if (conflicts.length > 0) await recordConflicts(client, conflicts);
  return { settled, conflicts };
}

/**
 * Writes a batch of vouchers in one transaction: insert what is new, and count the rest as
 * idempotent replays — or as content conflicts when a copy's content differs from the stored
 * voucher, which always stands. Safe to call again with the same batch. Throws, writing
 * nothing, when a voucher cannot be booked (see unwritableReason).
 * `db` is a pool, or an idle client (not inside a transaction); `log` gets replays and conflicts.
 */
export async function writeVoucherBatch(
  db: Db,
  log: Logger,
  vouchers: readonly Voucher[],
): Promise<BatchResult> {
  const json = vouchers.map(voucherJson);
  json.forEach(assertWritable);
  return writeCheckedVoucherBatch(
    db,
    log,
    json.map((v) => bookableVoucher(v)),
  );
}

/**
 * writeVoucherBatch for vouchers the caller has already found writable (unwritableReason is
 * null for each) and holds as bookable vouchers: the sink checks every voucher once, as it
 * reads it, to set the unwritable ones aside.
 */
export async function writeCheckedVoucherBatch(
  db: Db,
  log: Logger,
  vouchers: readonly BookableVoucher[],
): Promise<BatchResult> {
  const result: BatchResult = { inserted: {}, replayed: {}, conflicts: [], via: "staging" };
  if (vouchers.length === 0) return result;
  const conflicting: Conflicting[] = [];

  const firstOf = new Map<string, Staged>();
  const staged: Staged[] = vouchers.map((v, ord) => {
    const s = { v, id: v.voucherId.toLowerCase(), ord };
    if (!firstOf.has(s.id)) firstOf.set(s.id, s);
    return s;
  });

  const insertedIds = await inTransaction(db, "write voucher batch", async (client) => {
    await client.query(NO_JIT);
    const legacy = await settleLegacyCopies(client, staged, firstOf);
    conflicting.push(...legacy.conflicts);
    const pending = legacy.settled.size === 0 ? staged : staged.filter((s) => !legacy.settled.has(s));
    const fresh = await newCopiesIfOnlyReplays(client, pending, firstOf);
    if (fresh && (await copiedDirectly(client, fresh))) {
      result.via = "copy";
      return new Set(fresh.map((s) => s.id));
    }
    const { inserted, conflicts } = await stagedInsert(client, staged, pending, firstOf);
    conflicting.push(...conflicts);
    return inserted;
  });

  result.conflicts = conflicting.map((c) => c.conflict);
  const debug = log.isLevelEnabled("debug");
  const conflictCopies = new Set(conflicting.map((c) => c.copy));
  for (const s of staged) {
    if (firstOf.get(s.id) === s && insertedIds.has(s.id)) {
      bump(result.inserted, s.v.kind);
    } else if (!conflictCopies.has(s)) {
      // a conflicting copy is counted as a conflict only, never also as a replay (SPEC §7)
      bump(result.replayed, s.v.kind);
      if (debug)
        log.debug(
          { idempotencyKey: s.v.idempotencyKey, eventId: s.v.json().origin.eventId },
          "idempotent replay",
        );
    }
  }
  for (const c of result.conflicts) {
    log.warn(
      {
        idempotencyKey: c.key,
        storedHash: c.storedHash,
        incomingHash: c.incomingHash,
        stored: c.stored,
        incoming: c.incoming,
      },
      "content conflict: a replay differs from the stored voucher; the stored one stands",
    );
  }
  return result;
}
