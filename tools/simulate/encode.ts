import avro from "avsc";
import { Partitioners, type PartitionMetadata } from "kafkajs";
import { DecimalType } from "../../src/avro/decimal-type.js";
import { WideLongType } from "../../src/avro/reader-type.js";
import { loadSchema } from "../../src/schemas.js";
import {
  ALL_CDC_TOPICS,
  ALL_SOURCE_TOPICS,
  type CdcTopic,
  keySubject,
  type SourceTopic,
  valueSubject,
} from "../../src/topics.js";
import type { CdcItem, EventItem } from "./dataset.js";

/** Registry ids of the contract schemas the simulator writes with. */
export interface SchemaIds {
  value: Record<SourceTopic | CdcTopic, number>;
  key: Record<CdcTopic, number>;
}

/** Every topic the simulator writes, in a fixed order: a batch names topics by index. */
export const SIM_TOPICS: readonly (SourceTopic | CdcTopic)[] = [...ALL_SOURCE_TOPICS, ...ALL_CDC_TOPICS];

/**
 * Encoded messages packed in one ArrayBuffer (one allocation per batch, not two per message).
 * `meta` holds 6 int32 per message: topic index in SIM_TOPICS, partition, key offset,
 * key length, value offset, value length (TOMBSTONE for a null value).
 */
export interface EncodedBatch {
  count: number;
  buffer: ArrayBuffer;
  meta: Int32Array;
  bytes: number;
}

export const META_FIELDS = 6;

/** The value length of a message without a value: a CDC tombstone. */
export const TOMBSTONE = -1;

/** The partitioner kafkajs' producer uses by default (Kafka's Java client's: murmur2 of the key). */
const defaultPartitioner = Partitioners.DefaultPartitioner();
const metadataByCount = new Map<number, PartitionMetadata[]>();

/** The partition Kafka's default partitioner picks for a key among `partitions`. */
export function partitionOf(key: Buffer, partitions: number): number {
  let partitionMetadata = metadataByCount.get(partitions);
  if (!partitionMetadata) {
    partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    metadataByCount.set(partitions, partitionMetadata);
  }
  return defaultPartitioner({ topic: "", partitionMetadata, message: { key, value: null } });
}

/**
 * The contract schema of `subject` as the encoder's type. `wideLongs`: every long takes a bigint
 * too (WideLongType, as the codec reads writer schemas): Debezium 3.x's `ts_ns` is past 2^53,
 * where avsc's own long refuses. Only the CDC values need it (the events keep avsc's faster long).
 */
export const contractType = (subject: string, wideLongs = false): avro.Type =>
  avro.Type.forSchema(
    loadSchema(subject) as avro.Schema,
    {
      logicalTypes: { decimal: DecimalType },
      ...(wideLongs
        ? {
            typeHook: (schema: unknown) =>
              schema === "long" || (schema as { type?: unknown } | null)?.type === "long"
                ? WideLongType
                : undefined,
          }
        : {}),
    } as Partial<avro.ForSchemaOptions>,
  );

const isCdc = (t: string) => (ALL_CDC_TOPICS as readonly string[]).includes(t);

const HEADER = 5;

/**
 * Encodes data set items into the Confluent wire format (magic 0, schema id, Avro binary) with
 * the contract schemas, packing a batch of messages, with their partitions, into one buffer.
 */
export class DatasetEncoder {
  private readonly values: ({ id: number; type: avro.Type } | undefined)[];
  private readonly keys: ({ id: number; type: avro.Type } | undefined)[];
  private readonly topicIndex = new Map<string, number>();
  private readonly partitions: number[];
  private buf: Buffer;
  private pos = 0;
  private meta: Int32Array;
  private count = 0;

  /** `partitions`: partition count of each topic (as the broker has it). */
  constructor(
    ids: SchemaIds,
    partitions: Readonly<Record<string, number>>,
    private readonly batchSize = 5_000,
  ) {
    SIM_TOPICS.forEach((t, i) => {
      this.topicIndex.set(t, i);
    });
    this.values = SIM_TOPICS.map((t) => ({
      id: ids.value[t],
      type: contractType(valueSubject(t), isCdc(t)),
    }));
    this.keys = SIM_TOPICS.map((t) =>
      isCdc(t) ? { id: ids.key[t as CdcTopic], type: contractType(keySubject(t)) } : undefined,
    );
    this.partitions = SIM_TOPICS.map((t) => {
      const n = partitions[t];
      if (!n || n < 1) throw new Error(`partition count of ${t} unknown`);
      return n;
    });
    this.buf = this.newBuffer(batchSize * 320);
    this.meta = new Int32Array(batchSize * META_FIELDS);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.batchSize;
  }

  event(item: EventItem): void {
    const t = this.index(item.topic);
    const keyStart = this.pos;
    const keyLength = this.writeUtf8(item.key);
    const valueStart = this.pos;
    const valueLength =
      item.raw !== null ? this.writeBytes(item.raw) : this.writeAvro(this.values[t], item.event);
    this.push(t, keyStart, keyLength, valueStart, valueLength);
  }

  cdc(item: CdcItem): void {
    const t = this.index(item.topic);
    const keyStart = this.pos;
    const keyLength = this.writeAvro(this.keys[t], item.key);
    const valueStart = this.pos;
    const valueLength = item.value === null ? TOMBSTONE : this.writeAvro(this.values[t], item.value);
    this.push(t, keyStart, keyLength, valueStart, valueLength);
  }

  /** Hands over the messages encoded so far and starts a new batch. */
  take(): EncodedBatch {
    const batch: EncodedBatch = {
      count: this.count,
      buffer: this.buf.buffer as ArrayBuffer,
      meta: this.meta.slice(0, this.count * META_FIELDS),
      bytes: this.pos,
    };
    this.buf = this.newBuffer(Math.max(this.buf.length, 1024));
    this.pos = 0;
    this.count = 0;
    return batch;
  }

  private index(topic: string): number {
    const i = this.topicIndex.get(topic);
    if (i === undefined) throw new Error(`not a simulated topic: ${topic}`);
    return i;
  }

  private push(
    t: number,
    keyStart: number,
    keyLength: number,
    valueStart: number,
    valueLength: number,
  ): void {
    const at = this.count * META_FIELDS;
    this.meta[at] = t;
    const key = this.buf.subarray(keyStart, keyStart + keyLength);
    this.meta[at + 1] = partitionOf(key, this.partitions[t] as number);
    this.meta[at + 2] = keyStart;
    this.meta[at + 3] = keyLength;
    this.meta[at + 4] = valueStart;
    this.meta[at + 5] = valueLength;
    this.count++;
  }

  private writeUtf8(s: string): number {
    this.ensure(s.length * 3);
    const n = this.buf.write(s, this.pos, "utf8");
    this.pos += n;
    return n;
  }

  private writeBytes(b: Uint8Array): number {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return b.length;
  }

  private writeAvro(t: { id: number; type: avro.Type } | undefined, record: unknown): number {
    if (!t) throw new Error("no schema for this record");
    this.ensure(HEADER + 1024);
    for (;;) {
      const start = this.pos;
      this.buf[start] = 0;
      this.buf.writeInt32BE(t.id, start + 1);
      const end = t.type.encode(record, this.buf, start + HEADER);
      if (end >= 0) {
        this.pos = end;
        return end - start;
      }
      // avsc answers minus the bytes it lacked when the record does not fit.
      this.ensure(this.buf.length - start - end + HEADER);
    }
  }

  /** Grows the batch buffer (copying what is in it: offsets stay valid) to fit `bytes` more. */
  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = this.newBuffer(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** A buffer owning its whole ArrayBuffer (never a slice of Node's shared pool), so `meta`'s offsets are offsets in it. */
  private newBuffer(size: number): Buffer {
    return Buffer.from(new ArrayBuffer(size));
  }
}
