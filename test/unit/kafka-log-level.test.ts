import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { logLevel } from "kafkajs";
import { kafkaLogLevel } from "../../src/kafka/client.js";

/**
 * ERROR is for what an operator must act on; what kafkajs retries is a warning; the group's
 * routine answers during rebalances are debug (issue 21).
 */
describe("kafkajs log lines at the project's levels", () => {
  const cases: [string, number, { message: string; error?: unknown }, string][] = [
    [
      "a rebalance",
      logLevel.ERROR,
      {
        message: "Response JoinGroup(key: 11, version: 5)",
        error: "The group is rebalancing, so a rejoin is needed",
      },
      "debug",
    ],
    [
      "kafkajs re-joining after a rebalance (the member's own line)",
      logLevel.WARN,
      {
        message: "The group is rebalancing, re-joining",
        error: "The group is rebalancing, so a rejoin is needed",
      },
      "info",
    ],
    [
      "a coordinator loading after a broker restart",
      logLevel.ERROR,
      {
        message: "Response InitProducerId(key: 22, version: 1)",
        error: "The coordinator is loading and hence can't process requests for this group",
      },
      "debug",
    ],
    [
      "a member the coordinator forgot",
      logLevel.ERROR,
      {
        message: "Response Heartbeat(key: 12, version: 3)",
        error: "The coordinator is not aware of this member",
      },
      "debug",
    ],
    [
      "a coordinator moving",
      logLevel.ERROR,
      {
        message: "Response GroupCoordinator(key: 10, version: 2)",
        error: "The group coordinator is not available",
      },
      "warn",
    ],
    [
      "a broker restarting",
      logLevel.ERROR,
      { message: "Connection error: connect ECONNREFUSED 127.0.0.1:9092" },
      "warn",
    ],
    [
      "a raced topic creation",
      logLevel.ERROR,
      { message: "Response CreateTopics(key: 19, version: 3)", error: "Topic creation errors" },
      "debug",
    ],
    [
      "credentials refused",
      logLevel.ERROR,
      {
        message: "Response SaslAuthenticate(key: 36, version: 1)",
        error: "SASL SCRAM SHA512 authentication failed",
      },
      "error",
    ],
    [
      "access denied",
      logLevel.ERROR,
      {
        message: "Response Metadata",
        error: "Not authorized to access topics: [Topic authorization failed]",
      },
      "error",
    ],
    [
      "a certificate refused",
      logLevel.ERROR,
      { message: "Connection error: self-signed certificate in certificate chain" },
      "error",
    ],
    [
      "a warning stays a warning",
      logLevel.WARN,
      { message: "Failed to connect to seed broker, trying another broker from the list" },
      "warn",
    ],
    ["info stays info", logLevel.INFO, { message: "Consumer has joined the group" }, "info"],
  ];
  for (const [what, level, entry, expected] of cases) {
    it(`${what}: ${expected}`, () => assert.equal(kafkaLogLevel(level, entry), expected));
  }
});
