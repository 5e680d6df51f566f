import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { AvroCodec } from "../../src/avro/codec.js";
import { TransientInfraError, UndecodableError } from "../../src/errors.js";

const SCHEMA = { type: "record", name: "R", fields: [{ name: "id", type: "string" }] };

/** An HTTP server that swallows the first `silent` requests without answering, then plays a tiny registry. */
function flakyRegistry(silent: number): Promise<Server> {
  let seen = 0;
  const server = createServer((req, res) => {
    seen++;
    if (seen <= silent) return; // never answers
    const json = (body: unknown) =>
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "PUT") return json({ compatibility: "BACKWARD" });
    if (req.url?.includes("/config/")) return json({ compatibilityLevel: "BACKWARD" });
    if (req.method === "POST") return json({ id: 7 });
    if (req.url?.endsWith("/schemas/ids/7")) return json({ schema: JSON.stringify(SCHEMA) });
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("schema registry requests that get no answer", () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.closeAllConnections();
    for (const s of servers) s.close();
  });
  const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

  it("fail as transient infrastructure errors after the deadline and attempts, never hanging", async () => {
    const server = await flakyRegistry(Number.POSITIVE_INFINITY);
    servers.push(server);
    const codec = new AvroCodec({ url: urlOf(server), requestDeadlineMs: 150, attempts: 2 });
    const started = Date.now();
    await assert.rejects(codec.register("s-value", SCHEMA), TransientInfraError);
    assert.ok(Date.now() - started < 5_000);
  });

  it("are retried: a request lost once is tried again and succeeds", async () => {
    const server = await flakyRegistry(1);
    servers.push(server);
    const codec = new AvroCodec({ url: urlOf(server), requestDeadlineMs: 300, attempts: 3 });
    assert.equal(await codec.register("s-value", SCHEMA), 7);
  });
});

/** A registry that answers schema 7 after `failures` answers of the given HTTP status. */
function registryFailing(status: number, failures: number): Promise<Server> {
  let seen = 0;
  const server = createServer((req, res) => {
    if (!req.url?.endsWith("/schemas/ids/7")) return res.writeHead(404).end();
    if (++seen <= failures) return res.writeHead(status).end(JSON.stringify({ message: "no" }));
    res
      .writeHead(200, { "Content-Type": "application/json" })
      .end(JSON.stringify({ schema: JSON.stringify(SCHEMA) }));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const framed = (schemaId: number, body: Buffer) => {
  const header = Buffer.alloc(5);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
};

describe("what a schema fetch failure means for the record", () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });
  const codecOn = async (server: Server) => {
    servers.push(server);
    return new AvroCodec({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, attempts: 3 });
  };
  const record = framed(7, Buffer.from([2, 0x61])); // {id: "a"}

  // The client reports its own timeouts and refused connections as status 400: not a verdict on the id.
  for (const status of [400, 401, 500, 503]) {
    it(`status ${status} is transient: retried, and the record then decodes`, async () => {
      const codec = await codecOn(await registryFailing(status, 1));
      await codec.prepare([record]);
      assert.deepEqual({ ...codec.decode<{ id: string }>(record) }, { id: "a" });
    });
  }

  it("404 means the id is unknown: the record is UNDECODABLE", async () => {
    const codec = await codecOn(await registryFailing(404, Number.POSITIVE_INFINITY));
    await codec.prepare([record]);
    assert.throws(() => codec.decode(record), UndecodableError);
  });

  it("a negative id names no schema and is not asked for", async () => {
    const codec = await codecOn(await registryFailing(500, Number.POSITIVE_INFINITY));
    const negative = framed(-1, Buffer.from([0]));
    await codec.prepare([negative]);
    assert.throws(() => codec.decode(negative), UndecodableError);
  });
});
