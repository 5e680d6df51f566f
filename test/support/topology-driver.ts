import type { IHeaders, Message, Producer, TopicMessages } from "kafkajs";
import { pino } from "pino";
import { firstValueFrom, of } from "rxjs";
import { AvroCodec } from "../../src/avro/codec.js";
import { REASON_HEADER } from "../../src/deadletter/headers.js";
import type { DeadLetterRecord } from "../../src/deadletter/records.js";
import type { Skip, Voucher } from "../../src/domain/voucher.js";
import { applyCdc, type CdcOutcome, type CdcRecord } from "../../src/enrich/cdc.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { headerText } from "../../src/kafka/headers.js";
import { CONTRACT_SUBJECTS, loadSchema } from "../../src/schemas.js";
import { type CdcTopic, DLQ_TOPIC, VOUCHER_TOPIC, valueSubject } from "../../src/topics.js";
import { RecordSender } from "../../src/topology/record-sender.js";
import { postingTopology } from "../../src/topology/topology.js";

const quiet = pino({ level: "silent" });

/** How a CDC row reaches the driver: its Debezium op and source commit time. */
export interface CdcOptions {
  op?: "c" | "u" | "r";
  at?: number;
}

/** A dead letter as the topology put it on finance.posting.dlq. */
export interface DeadLetterOut {
  reason: string;
  message: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** What one batch did: vouchers as finance.voucher carries them (encoded, then read back), skips, dead letters. */
export interface DriverOutput {
  vouchers: Voucher[];
  skips: Skip[];
  deadLetters: DeadLetterOut[];
  /** Dead letters too large for their topic, which went to Postgres. */
  keptInPostgres: DeadLetterRecord[];
}

/**
 * The whole posting topology — decode, validate, resolve, post, encode, publish — without a
 * broker, registry or database, in the spirit of Kafka Streams' TopologyTestDriver: the
 * contract schemas are known under fixed ids, CDC rows go straight into the materialized
 * tables through the table feed's own apply step, and what the topology produces is captured
 * instead of sent. Records in, vouchers and dead letters out, in milliseconds.
 */
export class TopologyTestDriver {
  readonly codec = new AvroCodec({ url: "http://registry.invalid", attempts: 1 });
  readonly tables = new MaterializedTables();
  private readonly schemaIds = new Map<string, number>();
  private readonly captured: TopicMessages[] = [];
  private readonly sender: RecordSender;
  private readonly nextOffset = new Map<string, number>();
  private nextSchemaId = 1;

  constructor(private readonly options: { resolveTimeoutMs?: number; maxRecordBytes?: number } = {}) {
    for (const subject of CONTRACT_SUBJECTS) this.schemaIds.set(subject, this.adopt(loadSchema(subject)));
    const producer = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async ({ topicMessages }: { topicMessages: TopicMessages[] }) => {
        this.captured.push(...topicMessages);
        return [];
      },
    } as unknown as Producer;
    this.sender = new RecordSender(() => producer, quiet);
  }

  /** A writer schema of one's own (an older or newer producer), under a new id; returns the id. */
  adopt(schema: object): number {
    const id = this.nextSchemaId++;
    this.codec.adopt(id, schema);
    return id;
  }

  /** What each CDC record given to the driver did to the tables, in order. */
  readonly cdcOutcomes: CdcOutcome[] = [];

  /**
   * A row as Debezium delivers it; the tables change at once. `op` is `c` (default), `u` or `r`
   * (a snapshot read); `at` is the source commit time (`source.ts_ms`), without which the row
   * has none and counts from the beginning of time.
   */
  cdc(topic: CdcTopic, row: Record<string, unknown> & { id: string }, options: CdcOptions = {}): this {
    const { op = "c", at } = options;
    return this.apply({
      topic,
      key: { id: row.id },
      value: { before: null, after: row, op, ...(at === undefined ? {} : { source: { ts_ms: at } }) },
    });
  }

  /** A delete committed at `at`, followed by its tombstone, as Debezium writes them. */
  delete(topic: CdcTopic, id: string, at: number): this {
    this.apply({ topic, key: { id }, value: { before: null, after: null, op: "d", source: { ts_ms: at } } });
    return this.apply({ topic, key: { id }, value: null });
  }

  private apply(rec: CdcRecord): this {
    this.cdcOutcomes.push(applyCdc(this.tables, rec, quiet));
    return this;
  }

  /** An event in the wire format, written with its topic's contract schema or the given writer schema id. */
  encode(topic: string, event: unknown, writerSchemaId?: number): Buffer {
    return this.codec.encode(writerSchemaId ?? (this.schemaIds.get(valueSubject(topic)) as number), event);
  }

  /** Pipes one batch of one partition through the topology; events are encoded unless given as bytes. */
  async pipe(topic: string, records: readonly (Buffer | object)[], partition = 0): Promise<DriverOutput> {
    await this.sender.connect();
    const place = `${topic}:${partition}`;
    const first = this.nextOffset.get(place) ?? 0;
    this.nextOffset.set(place, first + records.length);
    const batch = {
      topic,
      partition,
      records: records.map((r, i) => ({
        key: Buffer.from(`key-${first + i}`),
        value: Buffer.isBuffer(r) ? r : this.encode(topic, r),
        headers: {},
        offset: String(first + i),
      })),
    };
    const keptInPostgres: DeadLetterRecord[] = [];
    this.captured.length = 0;
    const published = await firstValueFrom(
      of(batch).pipe(
        postingTopology({
          codec: this.codec,
          tables: this.tables,
          sender: this.sender,
          maxRecordBytes: this.options.maxRecordBytes ?? 1_000_000,
          keepOversized: async (letters) => {
            keptInPostgres.push(...letters);
          },
          voucherSchemaId: this.schemaIds.get(valueSubject(VOUCHER_TOPIC)) as number,
          wait: { timeoutMs: this.options.resolveTimeoutMs ?? 0 },
          observe: () => undefined,
        }),
      ),
    );
    const sent = (t: string): Message[] =>
      this.captured.filter((c) => c.topic === t).flatMap((c) => c.messages);
    const letters = published.deadLetters;
    return {
      vouchers: sent(VOUCHER_TOPIC).map((m) => this.codec.decode<Voucher>(m.value as Buffer)),
      skips: published.skips,
      deadLetters: sent(DLQ_TOPIC).map((m, i) => ({
        reason: headerText(m.headers ?? {}, REASON_HEADER) ?? "",
        message: letters[i]?.message ?? "",
        key: (m.key as Buffer | null) ?? null,
        value: (m.value as Buffer | null) ?? null,
        headers: m.headers ?? {},
      })),
      keptInPostgres,
    };
  }
}
