import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type avro from "avsc";
import { TransientInfraError, UndecodableError } from "../errors.js";
import { DecimalType } from "./decimal-type.js";

const MAGIC_BYTE = 0;
const HEADER_LENGTH = 5;

export type Compatibility = "BACKWARD" | "BACKWARD_TRANSITIVE" | "FORWARD" | "FULL" | "NONE";

export interface RegistryConfig {
  url: string;
  auth?: { username: string; password: string };
}

/**
 * Avro in the Confluent wire format, decoded with the writer's schema from the registry.
 * Schemas are fetched once per id (`prepare`), after which encode/decode are synchronous,
 * so the hot path has no per-message await. Every `decimal` becomes a decimal.js value.
 */
export class AvroCodec {
  private readonly registry: SchemaRegistry;
  private readonly types = new Map<number, avro.Type>();
  private readonly unknownIds = new Set<number>();

  constructor(private readonly config: RegistryConfig) {
    this.registry = new SchemaRegistry(
      { host: config.url, ...(config.auth ? { auth: config.auth } : {}) },
      { [SchemaType.AVRO]: { logicalTypes: { decimal: DecimalType } } },
    );
  }

  /** Fetches the writer schema of every framed value not seen yet. Unknown ids decode as UNDECODABLE. */
  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    const missing = new Set<number>();
    for (const v of values) {
      const id = schemaIdOf(v);
      if (id !== null && !this.types.has(id) && !this.unknownIds.has(id)) missing.add(id);
    }
    await Promise.all([...missing].map((id) => this.fetchType(id)));
  }

  decode<T = unknown>(value: Buffer | null): T {
    const id = schemaIdOf(value);
    if (value === null || id === null) throw new UndecodableError("not Avro in the registry wire format");
    const type = this.types.get(id);
    if (!type) throw new UndecodableError(`unknown schema id ${id}`);
    try {
      return type.fromBuffer(value.subarray(HEADER_LENGTH)) as T;
    } catch (e) {
      throw new UndecodableError(`Avro payload does not match schema id ${id}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  encode(schemaId: number, record: unknown): Buffer {
    const type = this.types.get(schemaId);
    if (!type) throw new Error(`schema id ${schemaId} is not prepared`);
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt8(MAGIC_BYTE, 0);
    header.writeInt32BE(schemaId, 1);
    return Buffer.concat([header, type.toBuffer(record)]);
  }

  /** Registers a schema under a subject with an explicit compatibility, and prepares it for encoding. */
  async register(
    subject: string,
    schema: object,
    compatibility: Compatibility = "BACKWARD",
  ): Promise<number> {
    await this.setCompatibility(subject, compatibility);
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject, compatibility: compatibility as never },
      );
      await this.fetchType(id);
      return id;
    } catch (e) {
      throw asInfraError(e, `registering ${subject}`);
    }
  }

  // The client compares the subject's compatibility with its own option and throws on a
  // mismatch; registries differ in their defaults, so we set it before registering.
  private async setCompatibility(subject: string, compatibility: Compatibility): Promise<void> {
    const res = await fetch(`${this.config.url.replace(/\/$/, "")}/config/${encodeURIComponent(subject)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/vnd.schemaregistry.v1+json", ...this.authHeader() },
      body: JSON.stringify({ compatibility }),
    }).catch((e: unknown) => {
      throw new TransientInfraError(`schema registry unreachable: ${(e as Error).message}`, { cause: e });
    });
    if (!res.ok) throw new TransientInfraError(`setting compatibility of ${subject}: HTTP ${res.status}`);
  }

  private authHeader(): Record<string, string> {
    const a = this.config.auth;
    return a
      ? { Authorization: `Basic ${Buffer.from(`${a.username}:${a.password}`).toString("base64")}` }
      : {};
  }

  private async fetchType(id: number): Promise<void> {
    try {
      this.types.set(id, (await this.registry.getSchema(id)) as unknown as avro.Type);
    } catch (e) {
      if ((e as { status?: number }).status === 404) this.unknownIds.add(id);
      else throw asInfraError(e, `fetching schema ${id}`);
    }
  }
}

export function schemaIdOf(value: Buffer | null): number | null {
  if (value === null || value.length < HEADER_LENGTH || value[0] !== MAGIC_BYTE) return null;
  return value.readInt32BE(1);
}

function asInfraError(e: unknown, what: string): Error {
  if (e instanceof TransientInfraError) return e;
  const status = (e as { status?: number }).status;
  // 4xx answers are real refusals (bad schema, incompatible change); anything else is the registry being unwell.
  if (status !== undefined && status >= 400 && status < 500) return e as Error;
  return new TransientInfraError(`schema registry: ${what}: ${(e as Error).message}`, { cause: e });
}
