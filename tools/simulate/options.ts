import type { DeadLetterReason } from "../../src/errors.js";
import { SOURCE_TOPICS, type SourceTopic } from "../../src/topics.js";

/** What a data set is made of; `resolveOptions` fills in the defaults and checks the values. */
export interface DatasetOptions {
  seed: number;
  /** Number of merchants (≥ 1). */
  merchants: number;
  /** Number of source messages, redeliveries, re-publications and bad events included. */
  events: number;
  /** Partitions the publisher should create topics with (default 6). Not used by the generator. */
  partitions?: number;
  /** Mix in deliberately bad events (dead letters). Off by default. */
  bad?: boolean;
  /** With `bad`: chance of each slot being a bad event (default 0.002); one of each reason is always placed. */
  badRate?: number;
  /**
   * With `bad`: which dead-letter reasons to produce (default all four). UNRESOLVED events make
   * the pipeline wait RESOLVE_TIMEOUT_MS before dead-lettering them; leave it out for quick runs.
   */
  badReasons?: DeadLetterReason[];
  /** Chance that a fresh event is redelivered (same bytes), and separately re-published (new eventId). Default 0.01. */
  duplicateRate?: number;
  /** Epoch millis of the first event (default 2026-01-01T00:00:00Z). */
  start?: number;
  /**
   * After the snapshot, the CDC topics also carry what changed in the seller database after
   * every event: accounts archived, vendors renamed and deleted, purchase orders re-coded, a
   * refused owner move, a merchant deleted (world/changes.ts). Default true.
   */
  history?: boolean;
}

export type ResolvedDatasetOptions = Required<DatasetOptions>;

export const DEFAULT_START = Date.UTC(2026, 0, 1);

/** Share of fresh events per topic. */
export const TOPIC_MIX: Readonly<Record<SourceTopic, number>> = {
  [SOURCE_TOPICS.paymentSuccess]: 0.55,
  [SOURCE_TOPICS.purchaseOrderReceived]: 0.1,
  [SOURCE_TOPICS.inventoryIssuedForSale]: 0.25,
  [SOURCE_TOPICS.inventoryAdjusted]: 0.1,
};

/** The dead-letter reasons `bad` data sets cover. */
export const BAD_REASONS: readonly DeadLetterReason[] = [
  "CROSS_TENANT",
  "UNRESOLVED",
  "INVALID_PAYLOAD",
  "UNDECODABLE",
];

export function resolveOptions(options: DatasetOptions): ResolvedDatasetOptions {
  const resolved: ResolvedDatasetOptions = {
    seed: options.seed >>> 0,
    merchants: options.merchants,
    events: options.events,
    partitions: options.partitions ?? 6,
    bad: options.bad ?? false,
    badRate: options.badRate ?? 0.002,
    badReasons: [...(options.badReasons ?? BAD_REASONS)],
    duplicateRate: options.duplicateRate ?? 0.01,
    start: options.start ?? DEFAULT_START,
    history: options.history ?? true,
  };
  const { merchants, events, partitions, badRate, duplicateRate, bad, badReasons } = resolved;
  if (!Number.isInteger(options.seed)) throw new RangeError("seed must be an integer");
  if (!Number.isInteger(merchants) || merchants < 1) throw new RangeError("merchants must be an integer ≥ 1");
  if (!Number.isInteger(events) || events < 0) throw new RangeError("events must be an integer ≥ 0");
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError("partitions must be an integer ≥ 1");
  for (const [name, p] of [
    ["badRate", badRate],
    ["duplicateRate", duplicateRate],
  ] as const) {
    if (!(p >= 0 && p <= 0.2)) throw new RangeError(`${name} must be within [0, 0.2]`);
  }
  if (bad && badReasons.length === 0) throw new RangeError("badReasons must name at least one reason");
  for (const reason of badReasons) {
    if (!BAD_REASONS.includes(reason)) throw new RangeError(`unknown dead-letter reason ${reason}`);
  }
  return resolved;
}
