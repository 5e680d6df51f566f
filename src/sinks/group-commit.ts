interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Gathers work from concurrent partition batches into flushes: what arrives while the flushes
 * in flight run goes into the next one (natural batching, like a database's group commit), so
 * batches grow with load and an idle sink flushes after at most `lingerMs`. Up to
 * `maxInFlight` flushes run at once, each in its own transaction, so Postgres can use more
 * than one core; a partition's next batch only comes after its last one was flushed, so a
 * partition is never in two flushes at once. `add` resolves only once the flush holding those
 * items has committed, so callers commit their Kafka offsets strictly after their data is durable.
 */
export class GroupCommit<T> {
  private items: T[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly maxItems: number,
    private readonly lingerMs: number,
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly maxInFlight = 1,
  ) {}

  add(items: readonly T[]): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.items.push(...items);
    if (this.inFlight.size < this.maxInFlight) {
      if (this.items.length >= this.maxItems) this.cut();
      else this.timer ??= setTimeout(() => this.cut(), this.lingerMs);
    }
    return done;
  }

  /** Flushes whatever is gathered and waits until nothing is left. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0 || this.waiters.length > 0) {
      this.cut();
      await Promise.all([...this.inFlight].map((f) => f.catch(() => undefined)));
    }
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight.size >= this.maxInFlight || this.waiters.length === 0) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    const flushing: Promise<void> = this.flush(items)
      .then(
        () => {
          for (const w of waiters) w.resolve();
        },
        (e: unknown) => {
          for (const w of waiters) w.reject(e);
        },
      )
      .finally(() => {
        this.inFlight.delete(flushing);
        // Whatever gathered during the flush has waited long enough.
        this.cut();
      });
    this.inFlight.add(flushing);
  }
}
