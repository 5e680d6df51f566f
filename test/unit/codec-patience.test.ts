import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { AvroCodec } from "../../src/avro/codec.js";
import { TransientInfraError } from "../../src/errors.js";

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
