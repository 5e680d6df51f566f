import { type ICustomPartitioner, Partitioners } from "kafkajs";
import { murmur2 } from "./murmur2.js";

/** Enough for every merchant of a large deployment; past it the memory starts over. */
const REMEMBERED_KEYS = 50_000;

/**
 * The Java client's partitioner for keyed records, remembering the partition of each string key.
 * Vouchers are keyed by merchant, so one batch hashes the same few keys thousands of times; a
 * key's partition depends only on the topic's partition count, which is part of what is
 * remembered. The hash is Kafka's murmur2 in 32-bit arithmetic (murmur2.ts): kafkajs' own made a
 * sixth of the topology's allocations, and seconds per large Buffer key (a dead letter keeps its
 * source's key). Records without a key, or with a partition, go to kafkajs' partitioner as before.
 */
export const RememberingPartitioner: ICustomPartitioner = () => {
  const java = Partitioners.DefaultPartitioner();
  const remembered = new Map<string, number>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    const key = message.key;
    if (
      key === null ||
      key === undefined ||
      (message.partition !== undefined && message.partition !== null)
    ) {
      return java(args);
    }
    const partitionOf = () => (murmur2(key) & 0x7fffffff) % partitionMetadata.length;
    if (typeof key !== "string") return partitionOf();
    const id = `${partitionMetadata.length}\u0000${topic}\u0000${key}`;
    let partition = remembered.get(id);
    if (partition === undefined) {
      partition = partitionOf();
      if (remembered.size >= REMEMBERED_KEYS) remembered.clear();
      remembered.set(id, partition);
    }
    return partition;
  };
};
