/**
 * Typed failures. The pipeline decides retry versus dead-letter by class, never by message
 * text: a PostingError dead-letters the event with its reason; a TransientInfraError is
 * retried and never dead-lettered.
 */
export const DEAD_LETTER_REASONS = [
  "UNDECODABLE",
  "INVALID_PAYLOAD",
  "UNRESOLVED",
  "CROSS_TENANT",
  "POSTING_FAILED",
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export abstract class PostingError extends Error {
  abstract readonly reason: DeadLetterReason;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bytes that are not registry-framed Avro, or whose schema id the registry does not know. */
export class UndecodableError extends PostingError {
  readonly reason = "UNDECODABLE" as const;
}

/** A decoded payload that breaks the rules of SPEC §3/§6 (bad amounts, tendered < amount, ...). */
export class InvalidPayloadError extends PostingError {
  readonly reason = "INVALID_PAYLOAD" as const;
}

/** A reference (account, control account, purchase order, vendor) still missing after waiting. */
export class UnresolvedError extends PostingError {
  readonly reason = "UNRESOLVED" as const;
}

/** A reference that exists but belongs to another merchant. */
export class CrossTenantError extends PostingError {
  readonly reason = "CROSS_TENANT" as const;
}

/**
 * An unexpected error while posting or storing one record (a defect, not an outage), still
 * there after a few attempts: the record is dead-lettered so its partition moves on, and
 * `redrive --reason POSTING_FAILED` posts it once the defect is fixed (SPEC §6).
 */
export class PostingFailedError extends PostingError {
  readonly reason = "POSTING_FAILED" as const;
}

/** Broker, registry or database unreachable: retry, never dead-letter. */
export class TransientInfraError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransientInfraError";
  }
}

/**
 * Work given up because a shutdown or a rebalance came: not a verdict on the record and not an
 * outage to wait out, so it is neither dead-lettered nor retried by the one that gave it up.
 */
export class AbandonedError extends TransientInfraError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AbandonedError";
  }
}

/** Bad configuration: the process refuses to start and says why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function isPostingError(e: unknown): e is PostingError {
  return e instanceof PostingError;
}
