/**
 * One entity's history as the CDC topic told it (SPEC §5 "Time"): its versions in topic order,
 * each with the source commit time it took effect. A delete is a version without a row.
 */
export interface Version<Row> {
  /** Source commit time (Debezium `source.ts_ms`), compared as it is with events' `occurredAt`. */
  readonly at: number;
  /** A snapshot read (`op = r`): what it says about status holds only from its own time on. */
  readonly snapshot: boolean;
  /** null: deleted at `at`. */
  readonly row: Row | null;
}

/** What a lookup found, and whether its status may be held against the event. */
export interface AsOf<Row> {
  row: Row;
  /**
   * False when the event came before the entity's known history and that history starts with a
   * snapshot row: the snapshot says what the entity looked like when it was taken, not before.
   */
  statusApplies: boolean;
}

/**
 * The version in force at `at`: the last (in topic order) committed at or before it; where the
 * known history starts after it, the first known version. Undefined when that version is a
 * delete. Scans from the newest: nearly every entity has one version, and events are recent.
 */
export function versionAt<Row>(versions: readonly Version<Row>[], at: number): AsOf<Row> | undefined {
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i] as Version<Row>;
    if (v.at <= at) return v.row === null ? undefined : { row: v.row, statusApplies: true };
  }
  const first = versions[0];
  if (first === undefined || first.row === null) return undefined;
  return { row: first.row, statusApplies: !first.snapshot };
}
