import type { PartitionMetadata } from "kafkajs";

/** Metadata of a topic with `n` healthy partitions, as a partitioner is given it. */
export const partitions = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));
