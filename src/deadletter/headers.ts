/*
 * The dead-letter topic's headers (CONTRACTS.md, SPEC §6): their names and the messages built
 * with them, so what the topology writes and what the sink and redrive read agree in one place.
 */
import type { IHeaders, Message } from "kafkajs";
import type { Origin } from "../domain/events.js";
import type { PostingError } from "../errors.js";
import type { Item } from "../topology/items.js";

/** The header naming a dead letter's reason (CONTRACTS.md). */
export const REASON_HEADER = "finance.dlq.reason";

/** A dead letter kept whole in Postgres only, because with its headers it exceeds the topic's limit. */
export const OVERSIZE_HEADER = "finance.dlq.oversize";

/** The headers a dead letter gets on top of its source record's: Kafka Connect's and ours. */
export const ERROR_HEADER = /^(__connect\.errors\.|finance\.dlq\.)/;

/** Kafka Connect's error headers, so existing DLQ tooling understands ours. */
export function deadLetterHeaders(origin: Origin, error: PostingError): IHeaders {
  return {
    "__connect.errors.topic": origin.topic,
    "__connect.errors.partition": String(origin.partition),
    "__connect.errors.offset": String(origin.offset),
    "__connect.errors.exception.class.name": error.name,
    "__connect.errors.exception.message": error.message,
    [REASON_HEADER]: error.reason,
  };
}

/** The source record byte for byte, with the error headers added (ours win over look-alikes). */
export function deadLetterMessage(item: Item, error: PostingError): Message {
  return {
    key: item.record.key,
    value: item.record.value,
    headers: { ...item.record.headers, ...deadLetterHeaders(item.origin, error) },
  };
}

/**
 * Stands in on the dead-letter topic for a dead letter kept in Postgres only: its key and the
 * error headers, saying how large the whole record was.
 */
export function oversizeStub(item: Item, error: PostingError, bytes: number): Message {
  return {
    key: item.record.key,
    value: null,
    headers: { ...deadLetterHeaders(item.origin, error), [OVERSIZE_HEADER]: String(bytes) },
  };
}
