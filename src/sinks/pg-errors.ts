import { TransientInfraError } from "../errors.js";

const TRANSIENT_SQLSTATES = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, in recovery)
  "53300", // too_many_connections
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);
const TRANSIENT_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * True when retrying the same work later can succeed: the database was unreachable, went away
 * or aborted us for concurrency. Constraint violations and syntax errors are bugs, not weather.
 */
export function isTransientPgError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string") {
    if (code.startsWith("08") || TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code)) return true;
  }
  // node-postgres reports a dropped socket or a pool timeout with no code at all
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e.message,
  );
}

/**
 * True when Postgres refused the data itself: a data exception (class 22: bad encoding such as
 * a NUL byte, a value out of range, numeric overflow), an integrity constraint (class 23) or a
 * program limit (54000, e.g. an index row too large). Writing the same record again fails the
 * same way, so it is isolated and dead-lettered. Decided by SQLSTATE only: an outage, a missing
 * table or a syntax error must never dead-letter anything, however its message reads.
 */
export function isContentRefusal(e: unknown): boolean {
  if (!(e instanceof Error) || isTransientPgError(e)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return code.startsWith("22") || code.startsWith("23") || code === "54000";
}

/** The error to throw for `e`: a TransientInfraError when retrying can help, else `e` itself. */
export function asInfraError(e: unknown, what: string): unknown {
  if (e instanceof TransientInfraError || !isTransientPgError(e)) return e;
  return new TransientInfraError(`${what}: ${(e as Error).message}`, { cause: e });
}
