import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import avro from "avsc";
import { TimeoutMiddleware } from "mappersmith/middleware/timeout";
import { ConfigError, InvalidPayloadError, TransientInfraError, UndecodableError } from "../errors.js";
import { BACKOFF, retry } from "../retry.js";
import { type CountGuard, countGuard } from "./count-guard.js";
import { DecimalType, MoneyTextType } from "./decimal-type.js";
import { WideLongType } from "./reader-type.js";
import { Utf8StringType } from "./string-type.js";

type Resolver = ReturnType<avro.Type["createResolver"]>;

/** Strings of the writer types: avsc's bytes, without its byte-length call per string (string-type.ts). */
const UTF8_STRING = new Utf8StringType();

/**
 * Writer schemas read every long with WideLongType, which never refuses a value: Debezium 3.x
 * writes `ts_ns` (epoch nanoseconds, past 2^53) in every CDC record's envelope and source block,
 * where avsc's own long throws "potential precision loss" and the whole record would be
 * undecodable. (A hook, not `registry: {long}`: the registry client shares its options between
 * schemas, and avsc fills a given registry with each schema's names: a new object per parse.)
 * Their plain strings (no logical type) are UTF8_STRING.
 */
const writerOptions = () => ({
  logicalTypes: { decimal: DecimalType },
  typeHook: (schema: unknown) => {
    if (schema === "long") return WideLongType;
    if (schema === "string") return UTF8_STRING;
    const s = schema as { type?: unknown; logicalType?: unknown } | null;
    if (s?.type === "long") return WideLongType;
    return s?.type === "string" && s.logicalType === undefined ? UTF8_STRING : undefined;
  },
});

const MAGIC_BYTE = 0;
const HEADER_LENGTH = 5;
/** Encoding space for one record; a larger one gets a buffer of its own. */
const SCRATCH_BYTES = 256 * 1024;

function writeHeader(wire: Buffer, schemaId: number): void {
  wire.writeUInt8(MAGIC_BYTE, 0);
  wire.writeInt32BE(schemaId, 1);
}
/** A registry request without an answer by then is a transient failure, retried. */
const REQUEST_DEADLINE_MS = 10_000;
const ATTEMPTS = 5;
/** Schema lookups in flight at once, whatever the number of unknown ids in a batch. */
const CONCURRENT_LOOKUPS = 4;
/** How long a confirmed "no such schema" stands before the id is asked for again. */
const UNKNOWN_ID_TTL_MS = 60_000;
/** Wait before an id the registry has just denied is asked for once more. */
const RECHECK_DELAY_MS = 1_000;
/** Unknown ids remembered at most (the oldest verdict goes first): random ids cannot grow memory. */
const UNKNOWN_IDS_KEPT = 10_000;

interface RequestPolicy {
  deadlineMs: number;
  attempts: number;
}

export type Compatibility = "BACKWARD" | "BACKWARD_TRANSITIVE" | "FORWARD" | "FULL" | "NONE";

export interface RegistryConfig {
  url: string;
  auth?: { username: string; password: string };
  /** Per-request deadline and attempts for transient failures (defaults 10 s and 5). */
  requestDeadlineMs?: number;
  attempts?: number;
  /** Schema lookups in flight at once across all callers (default 4). */
  concurrentLookups?: number;
  /** How long a confirmed unknown id is UNDECODABLE without asking again (default 60 s). */
  unknownIdTtlMs?: number;
  /** Wait before a denied id is asked for the second time that confirms it (default 1 s). */
  recheckDelayMs?: number;
}

type Verdict = "found" | "unknown";

/**
 * Avro in the Confluent wire format, decoded with the writer's schema from the registry.
 * Schemas are fetched once per id (`prepare`), after which encode/decode are synchronous,
 * so the hot path has no per-message await. Every `decimal` becomes a decimal.js value.
 */
export class AvroCodec {
  private readonly registry: SchemaRegistry;
  private readonly types = new Map<number, avro.Type>();
  /** Per writer type: its count check, or null when it has no arrays or maps (see countGuard). */
  private readonly guards = new WeakMap<avro.Type, CountGuard | null>();
  /** Ids the registry denied twice, with when the verdict lapses (insertion order: oldest first). */
  private readonly unknownIds = new Map<number, number>();
  /** Lookups under way, shared by every caller that needs the id meanwhile. */
  private readonly lookups = new Map<number, Promise<Verdict>>();
  private readonly slots: Semaphore;
  private readonly unknownIdTtlMs: number;
  private readonly recheckDelayMs: number;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  /** Per reader type: the resolver from each writer schema id, or why there is none. */
  private readonly resolvers = new Map<avro.Type, Map<number, Resolver | InvalidPayloadError>>();
  private readonly requestPolicy: RequestPolicy;
  /** Per writer type: the same schema with decimals as money's text (decodeMoneyText). */
  private readonly moneyTextTypes = new WeakMap<avro.Type, avro.Type>();

  constructor(private readonly config: RegistryConfig) {
    this.requestPolicy = {
      deadlineMs: config.requestDeadlineMs ?? REQUEST_DEADLINE_MS,
      attempts: config.attempts ?? ATTEMPTS,
    };
    this.slots = new Semaphore(config.concurrentLookups ?? CONCURRENT_LOOKUPS);
    this.unknownIdTtlMs = config.unknownIdTtlMs ?? UNKNOWN_ID_TTL_MS;
    this.recheckDelayMs = config.recheckDelayMs ?? RECHECK_DELAY_MS;
    this.registry = new SchemaRegistry(
      {
        host: config.url,
        ...(config.auth ? { auth: config.auth } : {}),
        // Aborts the socket of a request we have already given up on (see withDeadline).
        // (its ESM and CJS typings differ; the runtime object is the same)
        middlewares: [TimeoutMiddleware(this.requestPolicy.deadlineMs + 1_000) as never],
      },
      { [SchemaType.AVRO]: writerOptions() },
    );
  }

  /**
   * Fetches the writer schema of every framed value not seen yet, a few at a time (shared with
   * concurrent callers). An id the registry denies is asked for once more after a short wait
   * (a registry that has just been written to, or fails over, may briefly answer 404); denied
   * twice, it decodes as UNDECODABLE until the verdict lapses, then it is asked for again.
   * A registry that fails (5xx, timeout, refused connection) makes this throw a
   * TransientInfraError: retried by the caller, never a verdict on the record.
   */
  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    const missing = new Set<number>();
    const now = Date.now();
    for (const v of values) {
      const id = schemaIdOf(v);
      // Registries number schemas from 1: a negative id names none, so there is nothing to ask.
      if (id === null || id < 0 || this.types.has(id) || missing.has(id)) continue;
      const lapses = this.unknownIds.get(id);
      if (lapses !== undefined && lapses > now) continue;
      missing.add(id);
    }
    if (missing.size === 0) return;
    const denied = await this.lookUpAll([...missing]);
    if (denied.length === 0) return;
    await sleep(this.recheckDelayMs);
    const confirmed = await this.lookUpAll(denied);
    const lapses = Date.now() + this.unknownIdTtlMs;
    for (const id of confirmed) {
      this.unknownIds.delete(id); // re-inserted last: the map stays oldest first
      this.unknownIds.set(id, lapses);
    }
    for (const id of this.unknownIds.keys()) {
      if (this.unknownIds.size <= UNKNOWN_IDS_KEPT) break;
      this.unknownIds.delete(id);
    }
  }

  /** Looks ids up; the ones the registry denied. */
  private async lookUpAll(ids: number[]): Promise<number[]> {
    const verdicts = await Promise.all(ids.map((id) => this.lookUp(id)));
    return ids.filter((_, i) => verdicts[i] === "unknown");
  }

  private lookUp(id: number): Promise<Verdict> {
    let lookup = this.lookups.get(id);
    if (!lookup) {
      lookup = this.slots.run(() => this.fetchType(id)).finally(() => this.lookups.delete(id));
      this.lookups.set(id, lookup);
    }
    return lookup;
  }

  /**
   * Decodes with the writer's schema. With a `reader` (see `readerType`), the writer's data is
   * resolved to it by Avro's rules: fields the writer lacks take the reader's defaults, fields
   * the reader lacks are dropped, and a writer that cannot be resolved is INVALID_PAYLOAD.
   */
  decode<T = unknown>(value: Buffer | null, reader?: avro.Type): T {
    const writer = this.writerOf(value);
    const id = schemaIdOf(value) as number;
    if (!reader) return this.read(id, writer, value as Buffer, writer);
    return this.read(id, writer, value as Buffer, reader, this.resolverFor(reader, id, writer));
  }

  /**
   * Decodes with the writer's schema, decimals as money's exact text (MoneyTextType) rather
   * than decimal.js: for a reader that only copies and hashes amounts (the sink).
   */
  decodeMoneyText<T = unknown>(value: Buffer | null): T {
    const writer = this.writerOf(value);
    let textual = this.moneyTextTypes.get(writer);
    if (!textual) {
      textual = avro.Type.forSchema(writer.schema({ exportAttrs: true }), {
        ...writerOptions(),
        logicalTypes: { decimal: MoneyTextType },
      });
      this.moneyTextTypes.set(writer, textual);
    }
    return this.read(schemaIdOf(value) as number, writer, value as Buffer, textual);
  }

  /** The writer type of a framed value, or UNDECODABLE. */
  private writerOf(value: Buffer | null): avro.Type {
    const id = schemaIdOf(value);
    if (value === null || id === null) throw new UndecodableError("not Avro in the registry wire format");
    const writer = this.types.get(id);
    if (!writer) throw new UndecodableError(`unknown schema id ${id}`);
    return writer;
  }

  /** Reads a value of writer schema `id` as `type` (through `resolver`), its counts checked first. */
  private read<T>(id: number, writer: avro.Type, value: Buffer, type: avro.Type, resolver?: Resolver): T {
    try {
      const body = value.subarray(HEADER_LENGTH);
      // Every count checked against the bytes before avsc, which trusts them, reads any.
      this.guardOf(writer)?.(body);
      return type.fromBuffer(body, resolver) as T;
    } catch (e) {
      throw new UndecodableError(`Avro payload does not match schema id ${id}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  private guardOf(writer: avro.Type): CountGuard | null {
    let guard = this.guards.get(writer);
    if (guard === undefined) {
      guard = countGuard(writer);
      this.guards.set(writer, guard);
    }
    return guard;
  }

  private resolverFor(reader: avro.Type, id: number, writer: avro.Type): Resolver {
    let byId = this.resolvers.get(reader);
    if (!byId) {
      byId = new Map();
      this.resolvers.set(reader, byId);
    }
    let resolver = byId.get(id);
    if (!resolver) {
      try {
        resolver = reader.createResolver(writer);
      } catch (e) {
        resolver = new InvalidPayloadError(
          `writer schema ${id} cannot be read as ${reader.name ?? reader.typeName}: ${(e as Error).message}`,
        );
      }
      byId.set(id, resolver);
    }
    if (resolver instanceof InvalidPayloadError) throw resolver;
    return resolver;
  }

  /**
   * The record in the wire format. Written once, header and body together, into a scratch
   * buffer and copied out at its size: one allocation per record instead of three (header,
   * body, and their concatenation), on the path every voucher takes.
   */
  encode(schemaId: number, record: unknown): Buffer {
    const type = this.types.get(schemaId);
    if (!type) throw new Error(`schema id ${schemaId} is not prepared`);
    const scratch = this.scratch;
    const end = type.encode(record, scratch, HEADER_LENGTH);
    if (end < 0) {
      // Larger than the scratch buffer (avsc returns minus the bytes missing): rare, so not kept.
      const wire = Buffer.allocUnsafe(scratch.length - end);
      writeHeader(wire, schemaId);
      type.encode(record, wire, HEADER_LENGTH);
      return wire;
    }
    writeHeader(scratch, schemaId);
    return Buffer.from(scratch.subarray(0, end));
  }

  /**
   * Takes a writer schema under an id without asking the registry, as if fetched: for callers
   * that know their schemas and have no registry (the topology test driver).
   */
  adopt(id: number, schema: object): void {
    this.types.set(id, avro.Type.forSchema(schema as avro.Schema, writerOptions()));
    this.unknownIds.delete(id);
  }

  /** Registers a schema under a subject with an explicit compatibility, and prepares it for encoding. */
  async register(
    subject: string,
    schema: object,
    compatibility: Compatibility = "BACKWARD",
  ): Promise<number> {
    return retrying(this.requestPolicy, async () => {
      await this.setCompatibility(subject, compatibility);
      const request = this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject, compatibility: compatibility as never },
      );
      const { id } = await withDeadline(this.requestPolicy, `registering ${subject}`, request).catch(
        (e: unknown) => {
          throw registrationError(e, `registering ${subject}`);
        },
      );
      // Just registered: a denial is the registry catching up (a replica, a cache), asked again.
      if ((await this.lookUp(id)) === "unknown") {
        throw new TransientInfraError(
          `schema registry: schema ${id} of ${subject} not found after registering`,
        );
      }
      return id;
    });
  }

  /**
   * Resolves once the registry answers; a TransientInfraError while it cannot be reached or
   * fails, a ConfigError when it refuses our credentials (waiting will not change that).
   */
  async reachable(): Promise<void> {
    const res = await this.request("config", {
      headers: { Accept: "application/vnd.schemaregistry.v1+json" },
    });
    if (res.status === 401 || res.status === 403)
      throw new ConfigError(`schema registry refuses the credentials: HTTP ${res.status}`);
    if (!res.ok) throw new TransientInfraError(`schema registry: HTTP ${res.status}`);
  }

  // The client compares the subject's compatibility with its own option and throws on a
  // mismatch; registries differ in their defaults, so we set it before registering.
  private async setCompatibility(subject: string, compatibility: Compatibility): Promise<void> {
    const res = await this.request(`config/${encodeURIComponent(subject)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ compatibility }),
    });
    if (!res.ok) throw new TransientInfraError(`setting compatibility of ${subject}: HTTP ${res.status}`);
  }

  /**
   * A request of our own to the registry (beside its client's): with the credentials, within
   * the request deadline, a connection that fails reported as a TransientInfraError.
   */
  private request(path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
    return fetch(`${this.config.url.replace(/\/$/, "")}/${path}`, {
      ...init,
      headers: { ...init.headers, ...this.authHeader() },
      signal: AbortSignal.timeout(this.requestPolicy.deadlineMs),
    }).catch((e: unknown) => {
      throw new TransientInfraError(`schema registry unreachable: ${(e as Error).message}`, { cause: e });
    });
  }

  private authHeader(): Record<string, string> {
    const a = this.config.auth;
    return a
      ? { Authorization: `Basic ${Buffer.from(`${a.username}:${a.password}`).toString("base64")}` }
      : {};
  }

  /** One lookup, retried while the registry fails: the schema, or the registry's word that it has none. */
  private fetchType(id: number): Promise<Verdict> {
    return retrying(this.requestPolicy, async () => {
      try {
        const type = await withDeadline(
          this.requestPolicy,
          `fetching schema ${id}`,
          this.registry.getSchema(id),
        );
        this.types.set(id, type as unknown as avro.Type);
        this.unknownIds.delete(id);
        return "found";
      } catch (e) {
        if (isAnswerAboutSchema(e)) return "unknown";
        throw transient(e, `fetching schema ${id}`);
      }
    });
  }
}

/** At most `size` tasks at once; the rest wait their turn in order. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`concurrency must be a positive integer: ${size}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes on
      else this.active--;
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function schemaIdOf(value: Buffer | null): number | null {
  if (value === null || value.length < HEADER_LENGTH || value[0] !== MAGIC_BYTE) return null;
  return value.readInt32BE(1);
}

/** Our own deadline on a registry request, failing with a type the caller can retry on. */
async function withDeadline<T>(policy: RequestPolicy, what: string, request: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new TransientInfraError(`schema registry: ${what}: no answer within ${policy.deadlineMs} ms`)),
      policy.deadlineMs,
    );
  });
  try {
    return await Promise.race([request, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A few attempts with backoff for transient failures; the caller's own retry covers longer outages. */
const retrying = <T>(policy: RequestPolicy, attempt: () => Promise<T>): Promise<T> =>
  retry(attempt, {
    ...BACKOFF.registryRequest,
    attempts: policy.attempts,
    retryIf: (e) => e instanceof TransientInfraError,
  });

/**
 * The registry's answer is about the schema itself: it has no such id (404), or what it holds
 * under the id is no Avro schema this codec can use (the client fails after the HTTP answer,
 * without a status). Anything else — a timeout or refused connection, which the client reports
 * as status 400, auth, a 5xx, our own deadline — says nothing about the id and is retried.
 */
function isAnswerAboutSchema(e: unknown): boolean {
  if (e instanceof TransientInfraError) return false;
  const status = (e as { status?: number }).status;
  return status === 404 || status === undefined;
}

/** Refusals of a schema (invalid, incompatible) are final; every other failure is the registry being unwell. */
const SCHEMA_REFUSALS = new Set([409, 415, 422]);

function registrationError(e: unknown, what: string): Error {
  const status = (e as { status?: number }).status;
  if (status !== undefined && SCHEMA_REFUSALS.has(status)) return e as Error;
  return transient(e, what);
}

function transient(e: unknown, what: string): TransientInfraError {
  if (e instanceof TransientInfraError) return e;
  return new TransientInfraError(`schema registry: ${what}: ${(e as Error).message}`, { cause: e });
}
