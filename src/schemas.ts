import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type avro from "avsc";
import { readerType } from "./avro/reader-type.js";
import { ALL_CDC_TOPICS, ALL_SOURCE_TOPICS, keySubject, VOUCHER_TOPIC, valueSubject } from "./topics.js";

const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "schemas");

/** The contract schemas in schemas/, one file per registry subject. */
export function loadSchema(subject: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, `${subject}.avsc`), "utf8"));
}

const readers = new Map<string, avro.Type>();

/** The project's reader type for a subject, which every writer's data is resolved to. */
export function readerOf(subject: string): avro.Type {
  let type = readers.get(subject);
  if (!type) {
    type = readerType(loadSchema(subject));
    readers.set(subject, type);
  }
  return type;
}

export const CONTRACT_SUBJECTS: readonly string[] = [
  ...ALL_SOURCE_TOPICS.map(valueSubject),
  ...ALL_CDC_TOPICS.flatMap((t) => [keySubject(t), valueSubject(t)]),
  valueSubject(VOUCHER_TOPIC),
];
