/** Small helpers to measure and print: a timeline on stdout, aligned tables (percentiles: tools/bench/latency.ts). */

export { type Percentiles, percentiles } from "../../tools/bench/latency.js";

export class Timeline {
  readonly started = Date.now();
  readonly lines: string[] = [];

  /** Seconds since the start of the run, as printed in every line. */
  at(t = Date.now()): string {
    return `+${((t - this.started) / 1000).toFixed(1)}s`;
  }

  note(message: string): void {
    const line = `[chaos ${this.at()}] ${message}`;
    this.lines.push(line);
    console.log(line);
  }
}

/** Milliseconds as seconds with two decimals, or a dash. */
export const secs = (ms: number | null | undefined): string =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? "–" : `${(ms / 1000).toFixed(2)} s`;

/** A plain-text table with a header rule; columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
