/**
 * A run of the real bot process seen from outside: a /delegate to webster, its reply, its embed
 * in #dl-webster and the agent's hook POSTs. Shared by the restart and failover tests.
 */
import assert from 'node:assert/strict';
import type { StoredMessage } from '../fakes/fake-discord/index.ts';
import type { InteractionHandle } from '../fakes/fake-discord/interactions.ts';
import type { ProcessWorld } from './bot-process.ts';

export const LONG = 30_000;

export type DelegationWorld = Pick<ProcessWorld, 'fake' | 'channels' | 'users' | 'gateways'>;

/** /delegate webster as alice; resolves once the agent was sent the run. */
export async function delegate(
  world: DelegationWorld,
  task: string,
): Promise<{ readonly handle: InteractionHandle; readonly runId: string }> {
  const { fake, channels, users, gateways } = world;
  const sent = gateways.webster.next('run');
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task, timeout: 120 },
  });
  const [run] = await sent;
  assert.ok(run.runId, 'the agent was told its run id');
  return { handle, runId: run.runId };
}

/** /delegate webster as alice; resolves once the reply says the run waits for the agent. */
export async function waitingRun(
  world: DelegationWorld,
  task: string,
): Promise<{ readonly handle: InteractionHandle; readonly runId: string }> {
  const delegated = await delegate(world, task);
  await delegated.handle.original((m) => /waiting for webster/.test(m.content), LONG);
  return delegated;
}

/** The result embeds posted in #dl-webster. */
export function websterEmbeds(world: Pick<ProcessWorld, 'fake' | 'channels'>): StoredMessage[] {
  return world.fake.messagesIn(world.channels['dl-webster']!).filter((m) => m.embeds.length > 0);
}

/** How many times the run was POSTed to webster's hook, retries and resends alike. */
export function hookPostsFor(world: Pick<ProcessWorld, 'gateways'>, runId: string): number {
  return world.gateways.webster.hookRequests.filter((request) => request.idempotencyKey?.startsWith(`${runId}:`))
    .length;
}

/** The run's embed, once it is posted and the requester's reply links it. */
export async function deliveredEmbed(world: DelegationWorld, handle: InteractionHandle): Promise<StoredMessage> {
  const embed = await world.fake.waitForMessage(world.channels['dl-webster']!, (m) => m.embeds.length > 0, {
    timeoutMs: LONG,
  });
  await handle.original((m) => m.content.includes(embed.id), LONG);
  return embed;
}
