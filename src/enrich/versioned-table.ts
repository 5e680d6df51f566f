import { type AsOf, type Version, versionAt } from "./versions.js";

/** Why a CDC row was refused instead of becoming a version (SPEC §5 "Owners never change"). */
export type RefusalReason = "OWNER_CHANGED" | "INVALID_TYPE" | "INVALID_STATUS";

/** What one CDC row did to a table. */
export type PutOutcome =
  | { kind: "versioned" }
  /** Nothing a voucher or a check uses changed (a re-snapshot, a column nobody reads). */
  | { kind: "unchanged" }
  /**
   * Seen before: a version already held (loaded from the store and read again, or a change sent
   * again), or a refusal already reported. Known by content, not offset: topics restart offsets.
   */
  | { kind: "known" }
  | { kind: "refused"; reason: RefusalReason; message: string };

export interface TableRules<Row> {
  /** Names the table in messages and metrics. */
  name: string;
  /** The merchant a row says owns the entity; none for the merchant table itself. */
  owner?(row: Row): string;
  /** True when nothing a voucher or a check uses differs between the two rows. */
  same(a: Row, b: Row): boolean;
  /** The owner an id has by derivation (seeded accounts), before any row of its own. */
  derivedOwner?(id: string): string | undefined;
}

/**
 * A CDC table that keeps each entity's versions (SPEC §5): a row becomes a new version only
 * when a field that matters changes; a row naming another owner than the entity's first is
 * refused, also after a delete.
 */
export class VersionedTable<Row> {
  private readonly entities = new Map<string, Version<Row>[]>();
  /**
   * Every row put for an id whose owner was contested (accepted or refused, in arrival order):
   * should its owner turn out to be another by derivation (a seeded account id whose merchant
   * came later), its history is rebuilt from them with that owner.
   */
  private readonly contested = new Map<string, Version<Row>[]>();
  /** Entities whose topic rows are being read again after a load: the next version a row may match. */
  private readonly rereading = new Map<string, number>();
  /** Refusals already reported, by entity, commit time and claimed owner. */
  private readonly refusals = new Set<string>();
  private versionCount = 0;

  constructor(private readonly rules: TableRules<Row>) {}

  versions(id: string): readonly Version<Row>[] | undefined {
    return this.entities.get(id);
  }

  asOf(id: string, at: number): AsOf<Row> | undefined {
    const versions = this.entities.get(id);
    return versions === undefined ? undefined : versionAt(versions, at);
  }

  /** The entity's owner: by derivation, else the merchant it was first seen with. */
  ownerOf(id: string): string | undefined {
    const derived = this.rules.derivedOwner?.(id);
    if (derived !== undefined) return derived;
    const versions = this.entities.get(id);
    return versions === undefined ? undefined : this.firstOwner(versions);
  }

  /**
   * After the kept versions were loaded: their topics are read again from the start, and each
   * entity's rows are matched against its versions in order (what follows the last match is
   * new), so a compacted or re-created topic adds nothing twice, and a change made and undone
   * in one transaction (equal commit times) still ends with its last row.
   */
  expectReread(): void {
    for (const id of this.entities.keys()) this.rereading.set(id, 0);
  }

  put(id: string, version: Version<Row>): PutOutcome {
    const versions = this.entities.get(id);
    const row = version.row;
    // Every row of a contested id, whatever it does now: a rebuild under another owner replays them.
    const contested = this.contested.get(id);
    contested?.push(version);
    // Where a new version goes: last, or, while the topic is read again, where the reading is.
    let place = versions?.length ?? 0;
    const reread = this.rereading.get(id);
    if (versions !== undefined && reread !== undefined) {
      for (let j = reread; j < versions.length; j++) {
        if (this.isSame(versions[j] as Version<Row>, version)) {
          this.reread(id, j + 1, versions.length);
          return { kind: "known" };
        }
      }
      place = reread;
    } else if (versions !== undefined && this.isResent(versions, version)) {
      return { kind: "known" };
    }
    const claimed = row === null ? undefined : this.rules.owner?.(row);
    if (claimed !== undefined) {
      const owner = this.ownerOf(id);
      if (owner !== undefined && owner !== claimed) {
        if (!contested) this.contested.set(id, [...(versions ?? []), version]);
        return this.refuse(
          `${id}\u0000${version.at}\u0000${claimed}`,
          "OWNER_CHANGED",
          `${this.rules.name} ${id} belongs to merchant ${owner}; a row moving it to ${claimed} is refused`,
        );
      }
    }
    const previous = place > 0 ? (versions?.[place - 1]?.row ?? null) : null;
    const unchanged = row === null ? previous === null : previous !== null && this.rules.same(previous, row);
    if (unchanged) return { kind: "unchanged" };
    // A new array of exactly the versions: an array grown by push or splice reserves room for
    // a dozen more, and most entities never get a second version.
    const next =
      versions === undefined ? [version] : [...versions.slice(0, place), version, ...versions.slice(place)];
    this.entities.set(id, next);
    if (reread !== undefined) this.reread(id, place + 1, next.length);
    this.versionCount++;
    return { kind: "versioned" };
  }

  /** A refusal the caller reports once: seen again (a restart re-reading its topic), it is known. */
  refuse(signature: string, reason: RefusalReason, message: string): PutOutcome {
    if (this.refusals.has(signature)) return { kind: "known" };
    this.refusals.add(signature);
    return { kind: "refused", reason, message };
  }

  private reread(id: string, next: number, length: number): void {
    if (next >= length) this.rereading.delete(id);
    else this.rereading.set(id, next);
  }

  /**
   * A change sent again: the same as the last version, or as an older one committed before the
   * last (a connector that restarts sends again what it sent since its last commit). The same
   * as an older version at the last one's commit time is a change undone in that transaction.
   */
  private isResent(versions: readonly Version<Row>[], version: Version<Row>): boolean {
    const last = versions[versions.length - 1] as Version<Row>;
    if (this.isSame(last, version)) return true;
    return version.at < last.at && versions.some((v) => this.isSame(v, version));
  }

  /** The same change: same commit time, owner and fields that matter (or both deletes). */
  private isSame(a: Version<Row>, b: Version<Row>): boolean {
    if (a.at !== b.at) return false;
    if (a.row === null || b.row === null) return a.row === b.row;
    return this.rules.owner?.(a.row) === this.rules.owner?.(b.row) && this.rules.same(a.row, b.row);
  }

  /**
   * Gives an entity the owner it has by derivation (set in the rules before calling): when its
   * history so far names another (account rows for a seeded id that came before its merchant
   * did), the history is rebuilt from every row seen for it, the other owner's now refused.
   * Returns the owner it had, if it differed.
   */
  rederive(id: string, owner: string): string | undefined {
    const versions = this.entities.get(id);
    const seen = versions === undefined ? undefined : this.firstOwner(versions);
    if (versions === undefined || seen === undefined || seen === owner) return undefined;
    const rows = this.contested.get(id) ?? versions;
    this.entities.delete(id);
    this.contested.delete(id);
    this.rereading.delete(id);
    this.versionCount -= versions.length;
    for (const row of rows) this.put(id, row);
    return seen;
  }

  private firstOwner(versions: readonly Version<Row>[]): string | undefined {
    const owner = this.rules.owner;
    if (owner === undefined) return undefined;
    for (const v of versions) if (v.row !== null) return owner(v.row);
    return undefined;
  }

  get size(): { entities: number; versions: number } {
    return { entities: this.entities.size, versions: this.versionCount };
  }
}
