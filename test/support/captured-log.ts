import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../src/log.js";

/** A logger like the project's (same JSON lines), writing into memory so a test can read every line. */
export interface CapturedLog {
  log: Logger;
  /** Every line written so far, as written. */
  text: () => string;
  /** The lines parsed, for level and field checks. */
  lines: () => Array<Record<string, unknown>>;
}

export function capturedLog(level = "debug"): CapturedLog {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const log = pino(
    {
      name: "finance-posting",
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    sink,
  ) as unknown as Logger;
  const text = () => chunks.join("");
  const lines = () =>
    text()
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, text, lines };
}
