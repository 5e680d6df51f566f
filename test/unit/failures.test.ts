import assert from "node:assert/strict";
import { describe, it } from "node:test";
import kafkajs from "kafkajs";
import {
  AbandonedError,
  ConfigError,
  CrossTenantError,
  InvalidPayloadError,
  PostingFailedError,
  TransientInfraError,
  UndecodableError,
  UnresolvedError,
} from "../../src/errors.js";
import { classify, type FailureClass, isFinal, isRetriable } from "../../src/failures.js";

const protocol = (type: string) =>
  new kafkajs.KafkaJSProtocolError({ message: type, type, code: 0, retriable: false } as unknown as Error);
/** A kafkajs error by its class name (some are missing from its typings, or typed without a message). */
const kafkaError = (name: string, message: string): Error => {
  const ErrorClass = (kafkajs as unknown as Record<string, new (m: string) => Error>)[name];
  assert.ok(ErrorClass, `kafkajs exports ${name}`);
  return new ErrorClass(message);
};
const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

/** Every kind of error that crosses a boundary of the pipeline, and what it means (issue 21). */
const CASES: [string, unknown, FailureClass][] = [
  ["UNDECODABLE", new UndecodableError("not Avro"), "content"],
  ["INVALID_PAYLOAD", new InvalidPayloadError("tendered < amount"), "content"],
  ["UNRESOLVED", new UnresolvedError("no account"), "content"],
  ["CROSS_TENANT", new CrossTenantError("another merchant's account"), "content"],
  ["POSTING_FAILED", new PostingFailedError("a bug, three times"), "content"],
  ["a rebalance in progress", protocol("REBALANCE_IN_PROGRESS"), "revoked"],
  ["a member the coordinator forgot", protocol("UNKNOWN_MEMBER_ID"), "revoked"],
  ["an old generation", protocol("ILLEGAL_GENERATION"), "revoked"],
  ["a coordinator that moved", protocol("NOT_COORDINATOR_FOR_GROUP"), "revoked"],
  [
    "a group error kafkajs gave up retrying",
    new kafkajs.KafkaJSNumberOfRetriesExceeded(protocol("REBALANCE_IN_PROGRESS"), {
      retryCount: 5,
      retryTime: 1,
    }),
    "revoked",
  ],
  [
    "a group error wrapped by a stage",
    new TransientInfraError("resolution: rebalancing", { cause: protocol("REBALANCE_IN_PROGRESS") }),
    "revoked",
  ],
  ["a shutdown abandoning a wait", new AbandonedError("stopping: a retry was abandoned"), "stopping"],
  ["a closed broker connection", kafkaError("KafkaJSConnectionClosedError", "Closed connection"), "outage"],
  [
    "a broker request timing out",
    new kafkajs.KafkaJSRequestTimeoutError("Request Produce timed out"),
    "outage",
  ],
  ["a leader moving", protocol("NOT_LEADER_FOR_PARTITION"), "outage"],
  ["a socket written after its end", withCode("write after end", "ERR_STREAM_WRITE_AFTER_END"), "outage"],
  ["a refused connection", withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"), "outage"],
  [
    "Postgres shutting down",
    withCode("terminating connection due to administrator command", "57P01"),
    "outage",
  ],
  ["node-postgres losing its socket", new Error("Connection terminated unexpectedly"), "outage"],
  ["the registry unreachable", new TransientInfraError("schema registry unreachable"), "outage"],
  [
    "a SASL password the broker refuses",
    kafkaError("KafkaJSSASLAuthenticationError", "SASL failed"),
    "access",
  ],
  ["a topic the broker will not let us read", protocol("TOPIC_AUTHORIZATION_FAILED"), "access"],
  ["a group the broker will not let us join", protocol("GROUP_AUTHORIZATION_FAILED"), "access"],
  [
    "a certificate for another host",
    withCode("Hostname/IP does not match", "ERR_TLS_CERT_ALTNAME_INVALID"),
    "access",
  ],
  [
    "a broker certificate no trusted CA signed (kafkajs' connection error, given up on)",
    (() => {
      const refused = Object.assign(
        kafkaError(
          "KafkaJSConnectionError",
          "Connection error: self-signed certificate in certificate chain",
        ),
        { code: "SELF_SIGNED_CERT_IN_CHAIN" },
      );
      // As kafkajs' retrier gives up: the refusal as the cause.
      // (its typings lack the options kafkajs passes)
      const GivenUp = kafkajs.KafkaJSNonRetriableError as unknown as new (
        e: Error,
        options: { cause: Error },
      ) => Error;
      return new GivenUp(refused, { cause: refused });
    })(),
    "access",
  ],
  ["a Postgres password refused", withCode("password authentication failed", "28P01"), "access"],
  ["a Postgres privilege missing", withCode("permission denied for table voucher", "42501"), "access"],
  ["bad configuration", new ConfigError("invalid configuration"), "access"],
  ["a TypeError", new TypeError("cannot read properties of undefined"), "defect"],
  ["a constraint Postgres refuses (content, not weather)", withCode("duplicate key", "23505"), "defect"],
  ["something thrown that is no Error", "a string", "defect"],
];

describe("failure classification: one verdict per error, by type (never by message text)", () => {
  for (const [what, error, expected] of CASES) {
    it(`${what} → ${expected}`, () => {
      assert.equal(classify(error), expected);
    });
  }

  it("no infrastructure error is ever a content verdict (the only ones dead-lettered)", () => {
    for (const [what, error, expected] of CASES) {
      if (expected !== "content") assert.notEqual(classify(error), "content", what);
    }
  });

  it("retriable: outages and group moves; final: content and access", () => {
    assert.equal(isRetriable(kafkaError("KafkaJSConnectionClosedError", "Closed connection")), true);
    assert.equal(isRetriable(protocol("REBALANCE_IN_PROGRESS")), true);
    assert.equal(isRetriable(new UnresolvedError("x")), false);
    assert.equal(isFinal(new UnresolvedError("x")), true);
    assert.equal(isFinal(protocol("TOPIC_AUTHORIZATION_FAILED")), true);
    assert.equal(isFinal(new TypeError("x")), false);
  });
});
