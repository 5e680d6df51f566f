import kafkajs from "kafkajs";
import { AbandonedError, ConfigError, isPostingError, TransientInfraError } from "./errors.js";
import { isTransientPgError } from "./sinks/pg-errors.js";

/**
 * The one place that says what an error crossing a boundary means, so that every caller decides
 * retry, rejoin, dead-letter or give up by class and never by message text:
 *
 * - `content`: a verdict on one record (SPEC §6 reasons) — final, the record is dead-lettered;
 * - `revoked`: the group moved on (a rebalance, a new generation, this member forgotten) — the
 *   work is abandoned and the member rejoins; never a dead letter;
 * - `stopping`: a shutdown or a rebalance abandoned the work on purpose;
 * - `outage`: broker, registry or database unreachable or refusing for now — retried, never a
 *   dead letter;
 * - `access`: credentials, certificates, authorization or configuration — final, an operator
 *   must act, so it is logged at error and makes the process unhealthy;
 * - `defect`: anything else, a bug — tried again a few times, then POSTING_FAILED for the one
 *   record it happened on.
 */
export type FailureClass = "content" | "revoked" | "stopping" | "outage" | "access" | "defect";

/** kafkajs' group errors: the member's generation is over and it must join again. */
const GROUP_MOVED_ON = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "NOT_COORDINATOR_FOR_GROUP",
  "NOT_COORDINATOR",
  "FENCED_INSTANCE_ID",
]);

const KAFKA_ACCESS = /AUTHORIZATION_FAILED$|^SASL_AUTHENTICATION_FAILED$|^UNSUPPORTED_SASL_MECHANISM$/;
const KAFKA_ACCESS_ERRORS = new Set(["KafkaJSSASLAuthenticationError"]);

/** TLS verdicts on a certificate, Node's socket and stream codes of a dropped connection. */
const TLS_CODES =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_HAS_EXPIRED|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|ERR_SSL_.*)$/;
const DROPPED_CONNECTION = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_STREAM_WRITE_AFTER_END",
  "ERR_STREAM_DESTROYED",
  "ERR_SOCKET_CLOSED",
]);
/** Postgres refusing who we are or what we may do: 28xxx (authorization), 42501 (privilege). */
const PG_ACCESS = /^(28[0-9A-Z]{3}|42501)$/;

const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/** The class of one error, looking through the causes it wraps (the most telling one wins). */
export function classify(e: unknown): FailureClass {
  const chain: unknown[] = [];
  for (let x = e; x !== undefined && x !== null && chain.length < 8; x = (x as { cause?: unknown }).cause) {
    chain.push(x);
  }
  const classes = chain.map(own);
  for (const wanted of ["access", "revoked", "stopping", "content", "outage"] as const) {
    if (classes.includes(wanted)) return wanted;
  }
  return "defect";
}

/** What an error says by itself, without its causes (null: nothing). */
function own(e: unknown): FailureClass | null {
  if (isPostingError(e)) return "content";
  if (e instanceof AbandonedError) return "stopping";
  if (e instanceof ConfigError) return "access";
  const code = codeOf(e);
  // Before kafkajs' own class: its connection error carries the TLS verdict's code.
  if (code !== undefined && TLS_CODES.test(code)) return "access";
  if (e instanceof kafkajs.KafkaJSError) return kafkaClass(e);
  if (e instanceof TransientInfraError) return "outage";
  if (code !== undefined && PG_ACCESS.test(code)) return "access";
  if (code !== undefined && DROPPED_CONNECTION.has(code)) return "outage";
  if (isTransientPgError(e)) return "outage";
  return null;
}

function kafkaClass(e: kafkajs.KafkaJSError): FailureClass {
  const type = (e as { type?: string }).type ?? "";
  if (GROUP_MOVED_ON.has(type)) return "revoked";
  if (KAFKA_ACCESS.test(type) || KAFKA_ACCESS_ERRORS.has(e.name)) return "access";
  // Every other broker answer or client failure (a connection closed, a request timed out, a
  // leader moving, retries exhausted) is the cluster being unwell, whatever kafkajs' own flag says.
  return "outage";
}

/** May the same work succeed later without anyone changing anything? */
export const isRetriable = (e: unknown): boolean => {
  const c = classify(e);
  return c === "outage" || c === "revoked";
};

/** Is the error a verdict an operator or the record itself must change (never retried as is)? */
export const isFinal = (e: unknown): boolean => {
  const c = classify(e);
  return c === "content" || c === "access";
};
