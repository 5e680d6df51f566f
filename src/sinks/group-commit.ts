interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Gathers work from concurrent partition batches into one flush (by count, or after a linger),
 * one flush at a time. `add` resolves only once the flush holding those items has committed,
 * so callers commit their Kafka offsets strictly after their data is durable.
 */
export class GroupCommit<T> {
  private items: T[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly maxItems: number,
    private readonly lingerMs: number,
    private readonly flush: (items: T[]) => Promise<void>,
  ) {}

  add(items: readonly T[]): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.items.push(...items);
    if (this.items.length >= this.maxItems) this.cut();
    else this.timer ??= setTimeout(() => this.cut(), this.lingerMs);
    return done;
  }

  /** Flushes whatever is gathered now and waits for every flush under way. */
  async drain(): Promise<void> {
    this.cut();
    await this.chain;
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.waiters.length === 0) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.chain = this.chain.then(() =>
      this.flush(items).then(
        () => {
          for (const w of waiters) w.resolve();
        },
        (e: unknown) => {
          for (const w of waiters) w.reject(e);
        },
      ),
    );
  }
}
