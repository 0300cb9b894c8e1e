/**
 * Leader and standby (issue 14): real bot processes sharing one PostgreSQL database, the fake
 * Discord and fake gateways. Each test kills or stops the leader at a chosen point and proves the
 * standby takes over: every run finishes and is delivered once, nothing is sent twice.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ProcessWorld } from './support/bot-process.ts';
import { pgSkipReason, startPgCluster, type PgCluster } from './support/pg-cluster.ts';
import { startPgProcessWorld } from './support/pg-process-world.ts';

const LONG = 30_000;
const skip = pgSkipReason();
let started: Promise<PgCluster> | undefined;
const cluster = (): Promise<PgCluster> => (started ??= startPgCluster());
after(async () => {
  if (started !== undefined) await (await started).stop();
});

async function delegate(world: Pick<ProcessWorld, 'fake' | 'channels' | 'users' | 'gateways'>, task: string) {
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

test(
  'SIGKILL on the leader while its run waits: the standby takes over, resumes it and delivers once',
  { timeout: 120_000, skip },
  async (t) => {
    const world = await startPgProcessWorld(t, await cluster(), {
      script: { respond: 'admit', agent: { write: 'none' } },
    });
    const leader = await world.startLeader();
    const standby = await world.startStandby();
    const { handle, runId } = await delegate(world, 'survive the leader');
    await handle.original((m) => /waiting for webster/.test(m.content), LONG);

    leader.kill('SIGKILL');
    await leader.exited;
    await standby.waitForLog((line) => line.msg === 'hq-delegate is running', { timeoutMs: LONG });
    await world.writeHandoff(runId, 'webster');
    const embed = await world.fake.waitForMessage(world.channels['dl-webster']!, (m) => m.embeds.length > 0, {
      timeoutMs: LONG,
    });
    await handle.original((m) => m.content.includes(embed.id), LONG);
    const embeds = world.fake.messagesIn(world.channels['dl-webster']!).filter((m) => m.embeds.length > 0);
    assert.equal(embeds.length, 1, 'one embed');
    assert.equal((await world.store.getRun(runId))?.status, 'complete');
    await standby.stop();
  },
);
