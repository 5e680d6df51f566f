import type { Admin } from "kafkajs";

/** Commits a group's offsets at the topics' current ends, so it reads only what comes next. */
export async function startGroupAtEnd(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  for (const topic of topics.filter((t) => existing.has(t))) {
    const partitions = (await admin.fetchTopicOffsets(topic)).map((p) => ({
      partition: p.partition,
      offset: p.high,
    }));
    await admin.setOffsets({ groupId, topic, partitions });
  }
}
