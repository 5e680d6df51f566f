import type { Migration } from "./index.js";

/**
 * SPEC §5 "Finance keeps what it has seen": the CDC rows that became versions of the
 * materialized tables (and those refused, so a restart does not report them again), in the
 * order they were first seen, so a restart loads them before following the topics and upstream
 * compaction never changes what resolves. A change is known by its content (`change_hash`),
 * not by its offset: a topic deleted and created again, or another cluster, restarts offsets.
 * `change` is JSON as text: jsonb refuses \u0000, and a CDC row must always be storable.
 */
export const referenceVersions: Migration = {
  version: 3,
  name: "reference versions",
  sql: `
CREATE TABLE finance.reference_version (
  seq         bigserial PRIMARY KEY,
  topic       text NOT NULL,
  change_hash text NOT NULL,
  change      text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (topic, change_hash)
);
`,
};
