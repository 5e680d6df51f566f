/*
 * The inverse of a dead letter: the source record it was, for redrive to send back. Pure (headers
 * in, a decision out), so what redrive may send is decided and tested apart from its Kafka I/O.
 */
import type { IHeaders, Message } from "kafkajs";
import { headerText } from "../kafka/headers.js";
import { ALL_SOURCE_TOPICS } from "../topics.js";
import { ERROR_HEADER, OVERSIZE_HEADER } from "./headers.js";

/** Why a dead letter chosen for redrive was not sent: never written anywhere, counted. */
export type Refusal = "NO_TOPIC" | "NOT_A_SOURCE_TOPIC" | "TOPIC_MISSING";

export type RedriveTarget =
  | { kind: "send"; topic: string; message: Message }
  | { kind: "stub" }
  | { kind: "refused"; why: Refusal };

/**
 * Where a dead letter read from finance.posting.dlq may go: back to the source topic its
 * `__connect.errors.topic` header names, byte for byte without the error headers, only when that
 * is one of the four source topics. A header is anyone's word who can write the dead-letter
 * topic: `finance.voucher` (whose sink books what it reads), a topic that does not exist, or
 * garbage are refused. A stub of a record too large for the topic has its bytes in
 * finance.dead_letter only.
 */
export function originalRecord(headers: IHeaders, key: Buffer | null, value: Buffer | null): RedriveTarget {
  if (headerText(headers, OVERSIZE_HEADER) !== null) return { kind: "stub" };
  const topic = headerText(headers, "__connect.errors.topic");
  if (!topic) return { kind: "refused", why: "NO_TOPIC" };
  if (!(ALL_SOURCE_TOPICS as readonly string[]).includes(topic))
    return { kind: "refused", why: "NOT_A_SOURCE_TOPIC" };
  const original = Object.fromEntries(Object.entries(headers).filter(([name]) => !ERROR_HEADER.test(name)));
  return { kind: "send", topic, message: { key, value, headers: original } };
}
