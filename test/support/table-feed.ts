import { groups } from "../../src/config.js";
import { TableFeed, type TableFeedOptions } from "../../src/enrich/table-feed.js";
import type { MaterializedTables } from "../../src/enrich/tables.js";
import { log } from "./log.js";
import { metrics } from "./metrics.js";
import type { TestKafka } from "./pipeline.js";

/** A table feed of a test deployment (`config`'s groups) filling `tables`, with `more` options. */
export function testTableFeed(
  k: TestKafka,
  config: Parameters<typeof groups>[0],
  tables: MaterializedTables,
  more: Partial<TableFeedOptions> = {},
): TableFeed {
  return new TableFeed({
    kafka: k.kafka,
    codec: k.codec,
    tables,
    groupPrefix: groups(config).tables,
    log,
    metrics,
    heartbeatIntervalMs: 1_000,
    ...more,
  });
}
