import type { World, WorldOptions } from '../../test/support/bot-world.ts';

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

/** A world where `burst` follow-ups run at once, agents answer after `agentMs`, and no author limit bites. */
export function burstWorldOptions(burst: number, agentMs: number): WorldOptions {
  return {
    engine: { maxConcurrentPerAgent: burst },
    script: { respond: 'admit', agent: { write: 'valid', afterMs: agentMs } },
    // One follow-up per member per round: far under any per-author limit.
    discord: { mentionsPerBotPerMinute: 60 },
  };
}

/** `count` members with the leads role (who may delegate to webster), their ids. */
export function leadMembers(world: World, count: number): string[] {
  const { fake, guild, roles } = world;
  return Array.from(
    { length: count },
    (_, i) => fake.createMember({ guildId: guild.id, username: `member-${i}`, roles: [roles.leads] }).id,
  );
}
