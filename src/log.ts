import { pino } from "pino";

/** Structured JSON logs on stderr (stdout is kept for command output such as summaries). */
export const log = pino(
  {
    name: "finance-posting",
    level: process.env.LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ fd: 2, sync: false }),
);

export type Logger = typeof log;
