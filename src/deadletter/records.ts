/*
 * A dead letter as the project stores it (DeadLetterRecord): built from a record read from its
 * own topic, kept byte for byte at its place, or from a record read from finance.posting.dlq,
 * whose origin is only what its headers say.
 */
import type { IHeaders } from "kafkajs";
import { headerStrings, headerText } from "../kafka/headers.js";
import { REASON_HEADER } from "./headers.js";

/** A dead letter as one finance.dead_letter row holds it (store.ts). */
export interface DeadLetterRecord {
  topic: string;
  partition: number;
  /** Kafka offsets arrive as strings from kafkajs; bigint in Postgres either way. */
  offset: string | number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  reason: string;
  error: string;
  /**
   * Where the sink read it on finance.posting.dlq, for a record from that topic: then topic,
   * partition and offset above are only what its headers claim, and the row is unique by this
   * place. Absent for a record stored at its own place (unique by topic, partition, offset).
   */
  dlq?: { partition: number; offset: string | number };
}

/** A Kafka record the sink consumed: where it sits and its bytes, kept to dead-letter it as it arrived. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

const INT4_MAX = 2_147_483_647;
const INT8_MAX = 9_223_372_036_854_775_807n;
/** What Kafka accepts as a topic name: anything else (a NUL, 300 kB) is a header no topic has. */
const KAFKA_TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** The record as a dead letter at its own topic, partition and offset, byte for byte. */
export function deadLetterAt(source: SourceRecord, reason: string, error: string): DeadLetterRecord {
  const { topic, partition, offset, key, value, headers } = source;
  return { topic, partition, offset, key, value, headers: headerStrings(headers), reason, error };
}

/**
 * Origin headers naming a possible topic, with a partition and offset that fit
 * finance.dead_letter's int and bigint columns, or null.
 */
function originOf(headers: IHeaders): { topic: string; partition: number; offset: string } | null {
  const topic = headerText(headers, "__connect.errors.topic");
  const partition = headerText(headers, "__connect.errors.partition") ?? "";
  const offset = headerText(headers, "__connect.errors.offset") ?? "";
  if (!topic || !KAFKA_TOPIC.test(topic) || !/^\d{1,10}$/.test(partition) || !/^\d{1,19}$/.test(offset))
    return null;
  if (Number(partition) > INT4_MAX || BigInt(offset) > INT8_MAX) return null;
  return { topic, partition: Number(partition), offset };
}

/**
 * A record from finance.posting.dlq: unique by where the sink read it there (`dlq`), whatever
 * its headers say; its origin columns hold where the failed event came from by its headers (the
 * contract's columns), or the dead letter's own place when those headers are missing, malformed
 * (a topic name Kafka would refuse: NUL fails the insert, 300 kB its index) or out of the columns' range (a hostile "99999999999" would fail every insert of its batch).
 */
export function dlqRecord(source: SourceRecord): DeadLetterRecord {
  const headers = source.headers;
  return {
    ...deadLetterAt(
      source,
      headerText(headers, REASON_HEADER) ?? "UNKNOWN",
      headerText(headers, "__connect.errors.exception.message") ?? "",
    ),
    ...originOf(headers),
    dlq: { partition: source.partition, offset: source.offset },
  };
}
