import { pino } from "pino";

/** Structured JSON logs on stderr (stdout is kept for command output such as summaries). */
const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
// An unknown LOG_LEVEL is reported by config validation; until then log at info.
const initialLevel = LEVELS.includes(process.env.LOG_LEVEL ?? "")
  ? (process.env.LOG_LEVEL as string)
  : "info";

export const log = pino(
  {
    name: "finance-posting",
    level: initialLevel,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ fd: 2, sync: false }),
);

export type Logger = typeof log;
