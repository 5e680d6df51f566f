import type { Logger } from "./log.js";

/**
 * One log line per bad record for the first `burst` records of each kind in a window; the rest
 * of the window's are only counted, and said in one summary line when it ends. A producer that
 * sends thousands of bad records a second must neither make logging the bottleneck nor bury
 * what else happens. Metrics still count every record.
 */
export class LogRateLimit {
  private windowStart = 0;
  private readonly logged = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();
  private summary: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    /** What the lines are about, for the summary: "events dead-lettered". */
    private readonly what: string,
    private readonly level: "warn" | "error" = "warn",
    private readonly burst = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when a line for this record of `kind` is to be logged in full. */
  allow(kind: string): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) this.roll(t);
    const n = (this.logged.get(kind) ?? 0) + 1;
    this.logged.set(kind, n);
    if (n <= this.burst) return true;
    this.suppressed.set(kind, (this.suppressed.get(kind) ?? 0) + 1);
    // The window's summary is due at its end, even if no record comes after it.
    this.summary ??= setTimeout(() => this.roll(this.now()), this.windowStart + this.windowMs - t).unref();
    return false;
  }

  private roll(t: number): void {
    if (this.summary) clearTimeout(this.summary);
    this.summary = null;
    if (this.suppressed.size > 0) {
      this.log[this.level](
        { suppressed: Object.fromEntries(this.suppressed), intervalMs: this.windowMs, burst: this.burst },
        `${this.what}: more than ${this.burst} of a kind in ${this.windowMs / 1000} s, the rest counted only`,
      );
    }
    this.logged.clear();
    this.suppressed.clear();
    this.windowStart = t;
  }
}
