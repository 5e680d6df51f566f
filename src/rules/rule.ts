import type { Needs, ResolvedContext } from "../domain/context.js";
import type { Origin } from "../domain/events.js";
import type { PostingResult } from "../domain/voucher.js";
import type { SourceTopic } from "../topics.js";

/**
 * A posting rule: pure functions of the decoded event and its resolved context. No Kafka,
 * Postgres or clock. `validate` throws InvalidPayloadError; `post` returns vouchers (each
 * checked with assertBalanced) and skips.
 */
export interface PostingRule<E> {
  readonly topic: SourceTopic;
  validate(event: E): void;
  needs(event: E): Needs;
  post(event: E, ctx: ResolvedContext, origin: Origin): PostingResult;
}
