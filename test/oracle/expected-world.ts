import { SEEDED_ACCOUNTS } from "../../src/domain/accounts.js";
import { seededAccountId } from "../../src/ids.js";
import { ALL_CDC_TOPICS, CDC_TOPICS, type CdcTopic } from "../../src/topics.js";
import type { CdcEnvelope, CdcItem } from "../../tools/simulate/cdc/debezium.js";
import type { Dataset } from "../../tools/simulate/dataset.js";

/**
 * The entities the CDC topics describe, as SPEC §5 words it and as far as the expectations
 * need them — written here from the SPEC, not taken from the pipeline's tables:
 * - "Time": each entity keeps its versions with their source commit times (`source.ts_ms`); a
 *   lookup for an event returns the last version committed at or before its `occurredAt`, or,
 *   where the known history starts after it, the first one; a snapshot row's status is then
 *   not held against the event. A delete closes the last version; a tombstone says nothing.
 * - "Owners never change": an entity belongs to the merchant it was first seen with, also
 *   across a delete; a row naming another owner is refused (counted), as is an account row
 *   whose type or status is outside CONTRACTS' values. Seeded accounts are owned by derivation
 *   from their merchant's first version on.
 * Only what the expectations check is kept per version (owner aside, which never changes):
 * existence, an account's type and status, a purchase order's vendor, a merchant's currency.
 */

interface Version<T> {
  at: number;
  snapshot: boolean;
  /** null: deleted at `at`. */
  value: T | null;
}

/** An entity as of an event: what it was then, its owner, and whether its status counts. */
export interface AsOf<T> {
  value: T;
  merchantId: string;
  statusApplies: boolean;
}

/** One table's entities: each one's first owner and its versions in topic order. */
class Timelines<T extends object> {
  private readonly owners = new Map<string, string>();
  private readonly versions = new Map<string, Version<T>[]>();

  /** `same`: nothing the expectations check differs, so no new version is kept. */
  constructor(private readonly same: (a: T, b: T) => boolean = () => true) {}

  get size(): number {
    return this.versions.size;
  }

  has(id: string): boolean {
    return this.versions.has(id);
  }

  /** Adds a version; false when the row names another owner than the first (refused). */
  put(id: string, owner: string, version: Version<T>): boolean {
    const first = this.owners.get(id);
    if (version.value !== null && first !== undefined && first !== owner) return false;
    if (first === undefined) this.owners.set(id, owner);
    const list = this.versions.get(id);
    if (list === undefined) {
      this.versions.set(id, [version]);
      return true;
    }
    const last = (list.at(-1) as Version<T>).value;
    const unchanged =
      version.value === null ? last === null : last !== null && this.same(last, version.value);
    if (!unchanged) list.push(version);
    return true;
  }

  asOf(id: string, at: number): AsOf<T> | undefined {
    const list = this.versions.get(id);
    const merchantId = this.owners.get(id);
    if (list === undefined || merchantId === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const v = list[i] as Version<T>;
      if (v.at <= at)
        return v.value === null ? undefined : { value: v.value, merchantId, statusApplies: true };
    }
    const first = list[0] as Version<T>;
    return first.value === null
      ? undefined
      : { value: first.value, merchantId, statusApplies: !first.snapshot };
  }
}

const ACCOUNT_TYPES = ["MONEY", "CONTROL"];
const ACCOUNT_STATUSES = ["ACTIVE", "ARCHIVED"];

interface Tables {
  merchants: Timelines<{ currency: string }>;
  accounts: Timelines<{ type: string; status: string }>;
  vendors: Timelines<object>;
  purchaseOrders: Timelines<{ vendorId: string }>;
}

/** The world as it was when one event occurred (one per event: a class rather than closures). */
export class WorldAsOf {
  constructor(
    private readonly tables: Tables,
    readonly at: number,
  ) {}

  merchant(id: string) {
    return this.tables.merchants.asOf(id, this.at);
  }
  account(id: string) {
    return this.tables.accounts.asOf(id, this.at);
  }
  vendor(id: string) {
    return this.tables.vendors.asOf(id, this.at);
  }
  purchaseOrder(id: string) {
    return this.tables.purchaseOrders.asOf(id, this.at);
  }
}

const zero = () => Object.fromEntries(ALL_CDC_TOPICS.map((t) => [t, 0])) as Record<CdcTopic, number>;

/** A data set's CDC topics read as SPEC §5 says (above), and counted as they are published. */
export class ExpectedWorld {
  private readonly tables: Tables = {
    merchants: new Timelines((a, b) => a.currency === b.currency),
    accounts: new Timelines((a, b) => a.type === b.type && a.status === b.status),
    vendors: new Timelines(),
    purchaseOrders: new Timelines((a, b) => a.vendorId === b.vendorId),
  };
  /** CDC messages per topic, tombstones included (each is a message on the topic). */
  readonly messages = zero();
  readonly tombstones = zero();
  /** Rows refused: an owner move, or an account type or status outside CONTRACTS' values. */
  readonly refused = zero();

  /** Merchants ever seen (each has its seeded accounts, deleted or not). */
  get merchantCount(): number {
    return this.tables.merchants.size;
  }

  /**
   * Merchants first, so that every seeded account's derived owner and first version are known
   * before any account row claims its id, whatever order the topics are read in.
   */
  static of(dataset: Dataset): ExpectedWorld {
    const world = new ExpectedWorld();
    for (const item of dataset.cdc()) if (item.topic === CDC_TOPICS.merchant) world.merchantMessage(item);
    for (const item of dataset.cdc()) if (item.topic !== CDC_TOPICS.merchant) world.entityMessage(item);
    return world;
  }

  asOf(at: number): WorldAsOf {
    return new WorldAsOf(this.tables, at);
  }

  private merchantMessage(item: Extract<CdcItem, { topic: typeof CDC_TOPICS.merchant }>): void {
    const id = item.key.id;
    const v = this.version(item.topic, item.value, (r) => ({ currency: r.currency }));
    if (!v) return;
    const { merchants, accounts } = this.tables;
    const firstSeen = !merchants.has(id) && v.value !== null;
    merchants.put(id, id, v);
    if (!firstSeen) return;
    // SPEC §3: its first version seeds its accounts, owned by derivation from then on.
    for (const a of SEEDED_ACCOUNTS) {
      const seeded = { at: v.at, snapshot: v.snapshot, value: { type: a.type, status: "ACTIVE" } };
      accounts.put(seededAccountId(id, a.code), id, seeded);
    }
  }

  private entityMessage(item: CdcItem): void {
    switch (item.topic) {
      case CDC_TOPICS.financeAccount:
        this.owned(item.topic, item.key.id, item.value, this.tables.accounts, (r) => {
          const valid = ACCOUNT_TYPES.includes(r.type) && ACCOUNT_STATUSES.includes(r.status);
          return valid ? { type: r.type, status: r.status } : undefined;
        });
        break;
      case CDC_TOPICS.vendor:
        this.owned(item.topic, item.key.id, item.value, this.tables.vendors, () => ({}));
        break;
      case CDC_TOPICS.purchaseOrder:
        this.owned(item.topic, item.key.id, item.value, this.tables.purchaseOrders, (r) => ({
          vendorId: r.vendor_id,
        }));
        break;
    }
  }

  /** A row of an entity a merchant owns; `keep` says what is kept of it (undefined: refused). */
  private owned<Row extends { merchant_id: string }, T extends object>(
    topic: CdcTopic,
    id: string,
    value: CdcEnvelope<Row> | null,
    table: Timelines<T>,
    keep: (row: Row) => T | undefined,
  ): void {
    const v = this.version(topic, value, keep);
    if (v === null) this.refused[topic]++;
    const owner = (value?.after ?? value?.before)?.merchant_id;
    if (!v || owner === undefined) return;
    if (!table.put(id, owner, v)) this.refused[topic]++;
  }

  /**
   * The version a message makes: undefined for a tombstone (only a compaction marker) or an op
   * that changes nothing (a truncate: finance forgets nothing); null when `keep` refuses the row.
   */
  private version<Row, T>(
    topic: CdcTopic,
    value: CdcEnvelope<Row> | null,
    keep: (row: Row) => T | undefined,
  ): Version<T> | null | undefined {
    this.messages[topic]++;
    if (value === null) {
      this.tombstones[topic]++;
      return undefined;
    }
    const at = value.source.ts_ms;
    if (value.op === "d") return { at, snapshot: false, value: null };
    if (!["c", "r", "u"].includes(value.op) || value.after === null) return undefined;
    const kept = keep(value.after);
    return kept === undefined ? null : { at, snapshot: value.op === "r", value: kept };
  }
}
