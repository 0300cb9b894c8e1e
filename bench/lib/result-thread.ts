import type { World } from '../../test/support/bot-world.ts';

/** A finished /delegate to webster by alice, and the thread its result opened (from the reply's link). */
export async function openResultThread(world: World, name: string, waitMs: number): Promise<string> {
  const handle = world.fake.sendSlashCommand({
    channelId: world.channels.general!,
    userId: world.users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: `thread for ${name}` },
  });
  const reply = await handle.original((m) => /<#\d+>/.test(m.content), waitMs);
  return /<#(\d+)>/.exec(reply.content)![1]!;
}
