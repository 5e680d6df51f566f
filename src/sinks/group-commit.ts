interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Gathers work from concurrent partition batches into one flush, one flush at a time: what
 * arrives while a flush runs goes into the next one (natural batching, like a database's group
 * commit), so batches grow with load and an idle sink flushes after at most `lingerMs`.
 * `add` resolves only once the flush holding those items has committed, so callers commit
 * their Kafka offsets strictly after their data is durable.
 */
export class GroupCommit<T> {
  private items: T[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly maxItems: number,
    private readonly lingerMs: number,
    private readonly flush: (items: T[]) => Promise<void>,
  ) {}

  add(items: readonly T[]): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.items.push(...items);
    if (!this.flushing) {
      if (this.items.length >= this.maxItems) this.cut();
      else this.timer ??= setTimeout(() => this.cut(), this.lingerMs);
    }
    return done;
  }

  /** Flushes whatever is gathered and waits until nothing is left. */
  async drain(): Promise<void> {
    while (this.flushing || this.waiters.length > 0) {
      if (!this.flushing) this.cut();
      await this.flushing?.catch(() => undefined);
    }
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushing || this.waiters.length === 0) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.flushing = this.flush(items).then(
      () => this.settle(waiters, (w) => w.resolve()),
      (e: unknown) => this.settle(waiters, (w) => w.reject(e)),
    );
  }

  private settle(waiters: Waiter[], how: (w: Waiter) => void): void {
    this.flushing = null;
    for (const w of waiters) how(w);
    // Whatever gathered during the flush has waited long enough.
    this.cut();
  }
}
