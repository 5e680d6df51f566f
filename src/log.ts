import { pino } from "pino";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Structured JSON logs on stderr (stdout is kept for command output such as summaries), at
 * `level`; without one, at a valid LOG_LEVEL, else info (an unknown LOG_LEVEL is reported by
 * config validation).
 */
export function createLogger(level?: string) {
  const envLevel = process.env.LOG_LEVEL ?? "";
  return pino(
    {
      name: "finance-posting",
      level: level ?? (LEVELS.includes(envLevel) ? envLevel : "info"),
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

export type Logger = ReturnType<typeof createLogger>;
