import type { Rng } from "../random.js";
import type { EventDraft, SourceEvent } from "./item.js";

/** A copy comes at most this many messages after its original. */
const MAX_DUPLICATE_DELAY = 300;

interface Scheduled {
  /** The position in the stream from which the copy is published. */
  due: number;
  item: EventDraft;
}

/**
 * The schedule of second copies: after an original, with chance `rate` each, a redelivery
 * (the same record again, as a producer retry gives) and a re-publication (the same content
 * under a new eventId, as an upstream outbox replay gives), each due a little later.
 */
export class DuplicateSchedule {
  /** Ordered by `due`; copies due at the same position keep the order they were planned in. */
  private readonly queue: Scheduled[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly rate: number,
  ) {}

  /** The copy due at `seq`, if any, taken off the schedule. */
  takeDue(seq: number): EventDraft | undefined {
    const head = this.queue[0];
    if (head === undefined || head.due > seq) return undefined;
    this.queue.shift();
    return head.item;
  }

  /** Draws the copies of `item`, the original published at `seq`. */
  planCopies(seq: number, item: EventDraft): void {
    const { rng } = this;
    if (rng.chance(this.rate)) {
      this.add(seq + rng.int(1, MAX_DUPLICATE_DELAY), { ...item, delivery: "REDELIVERY" });
    }
    if (rng.chance(this.rate)) {
      const event = { ...(item.event as SourceEvent), eventId: rng.uuid() };
      this.add(seq + rng.int(1, MAX_DUPLICATE_DELAY), { ...item, event, delivery: "REPUBLICATION" });
    }
  }

  private add(due: number, item: EventDraft): void {
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1] as Scheduled).due > due) i--;
    this.queue.splice(i, 0, { due, item });
  }
}
