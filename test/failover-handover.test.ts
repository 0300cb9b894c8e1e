/**
 * Leader and standby (issue 14), continued from failover.test.ts: a leader that loses its lease
 * connection, a planned SIGTERM hand-over, a killed process restarted as a standby, and a mention
 * sent while no process leads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { pgSkipReason } from './support/pg-cluster.ts';
import {
  assertFinishedOnce,
  fileCluster,
  opsGet,
  RUNNING,
  startPgProcessWorld,
  type PgProcessWorld,
} from './support/pg-process-world.ts';
import { deliveredEmbed, waitingRun } from './support/process-runs.ts';

const LONG = 30_000;
const skip = pgSkipReason();
const cluster = fileCluster();

test(
  'the leader loses its lease connection: it exits 1 by itself, the standby takes over and finishes the run once',
  { timeout: 120_000, skip },
  async (t) => {
    const world = await startPgProcessWorld(t, await cluster(), {
      script: { respond: 'admit', agent: { write: 'none' } },
    });
    const { leader, standby } = await world.startPair();
    const { handle, runId } = await waitingRun(world, 'outlive the network');

    assert.equal(await world.cutLeaseConnection(leader), 1, 'one lease connection cut');
    const exit = await leader.exited;
    assert.equal(exit.code, 1, leader.stderr());
    assert.ok(leader.lines.some((line) => line.msg?.startsWith('lost the leader lease')));
    await standby.waitForLog((line) => line.msg === RUNNING, { timeoutMs: LONG });
    await world.writeHandoff(runId, 'webster');
    const embed = await deliveredEmbed(world, handle);
    await assertFinishedOnce(world, runId, embed);
    await standby.stop();
  },
);

test(
  'SIGTERM on the leader: it exits 0 and releases the lease, the standby leads long before the ttl and finishes the run once',
  { timeout: 120_000, skip },
  async (t) => {
    const ttlSeconds = 20;
    const world = await startPgProcessWorld(t, await cluster(), {
      ttlSeconds,
      script: { respond: 'admit', agent: { write: 'none' } },
    });
    const { leader, standby } = await world.startPair();
    const { handle, runId } = await waitingRun(world, 'hand me over');

    const signalled = performance.now();
    leader.kill('SIGTERM');
    assert.equal((await leader.exited).code, 0, leader.stderr());
    assert.ok(leader.lines.some((line) => line.msg === 'released the leader lease'));
    await standby.waitForLog((line) => line.msg === 'leading', { timeoutMs: LONG });
    const takeoverMs = performance.now() - signalled;
    t.diagnostic(`SIGTERM to the standby leading: ${Math.round(takeoverMs)} ms`);
    // Waiting out the lease would take at least two thirds of the ttl after the last renewal.
    assert.ok(takeoverMs < 10_000, `the standby led ${Math.round(takeoverMs)} ms after the SIGTERM`);
    await standby.waitForLog((line) => line.msg === RUNNING, { timeoutMs: LONG });
    await world.writeHandoff(runId, 'webster');
    const embed = await deliveredEmbed(world, handle);
    await assertFinishedOnce(world, runId, embed);
    await standby.stop();
  },
);

async function roleOf(bot: Parameters<typeof opsGet>[0]): Promise<{ status: number; role: unknown; gauge: string }> {
  const health = await opsGet(bot, '/healthz');
  const metrics = await opsGet(bot, '/metrics');
  assert.equal(metrics.status, 200);
  const gauge = /^hq_delegate_leader (\d+)$/m.exec(metrics.text)?.[1] ?? 'missing';
  return { status: health.status, role: (JSON.parse(health.text) as { role?: unknown }).role, gauge };
}

test(
  'the killed leader restarted stands by: /healthz 200 as standby, the leader gauge 0 there and 1 on the new leader',
  { timeout: 120_000, skip },
  async (t) => {
    const world = await startPgProcessWorld(t, await cluster(), {
      script: { respond: 'admit', agent: { write: 'none' } },
    });
    const { leader, standby } = await world.startPair();
    assert.deepEqual(await roleOf(leader), { status: 200, role: 'leader', gauge: '1' });
    assert.deepEqual(await roleOf(standby), { status: 200, role: 'standby', gauge: '0' });
    const { handle, runId } = await waitingRun(world, 'across three processes');

    leader.kill('SIGKILL');
    await leader.exited;
    await standby.waitForLog((line) => line.msg === RUNNING, { timeoutMs: LONG });
    const restarted = await world.startStandby();
    assert.deepEqual(await roleOf(restarted), { status: 200, role: 'standby', gauge: '0' });
    assert.deepEqual(await roleOf(standby), { status: 200, role: 'leader', gauge: '1' });

    await world.writeHandoff(runId, 'webster');
    const embed = await deliveredEmbed(world, handle);
    await assertFinishedOnce(world, runId, embed);
    assert.ok(!restarted.lines.some((line) => line.msg === 'leading'), 'the restarted process never led');
    assert.equal((await restarted.stop()).code, 0);
    await standby.stop();
  },
);

function mention(world: PgProcessWorld, text: string): StoredMessage {
  return world.fake.postMessage({
    channelId: world.channels.general!,
    authorId: world.users.websterBot,
    content: `<@${world.fake.botUser.id}> ${text}`,
  });
}

function answerTo(world: PgProcessWorld, message: StoredMessage): Promise<StoredMessage> {
  return world.fake.waitForMessage(
    world.channels.general!,
    (m) =>
      m.messageReference?.message_id === message.id &&
      m.authorId === world.fake.botUser.id &&
      m.content.includes('```json'),
    { timeoutMs: LONG },
  );
}

test(
  'a mention sent while no process leads is taken once by the standby that takes over',
  { timeout: 120_000, skip },
  async (t) => {
    const world = await startPgProcessWorld(t, await cluster(), {
      channels: ['dl-webster', 'dl-tech-lead', 'dl-secretary'],
      script: { respond: 'admit', agent: { write: 'valid' } },
    });
    const { leader, standby } = await world.startPair();
    // Answered by the leader: #general then has a cursor the next leader reads after.
    const seen = mention(world, 'secretary: the one before the kill');
    await answerTo(world, seen);

    leader.kill('SIGKILL');
    await leader.exited;
    assert.ok(!standby.lines.some((line) => line.msg === 'leading'), 'nobody leads while the mention is sent');
    const missed = mention(world, 'secretary: the one nobody heard');
    const answer = await answerTo(world, missed);
    assert.match(answer.content, /"status": ?"complete"/);
    const recovered = await standby.waitForLog((line) => line.msg === 'recovered after restart');
    assert.equal((recovered.missed as { mentions: number }).mentions, 1, 'taken as a missed mention');
    await standby.stop();
    const tasks = world.gateways.secretary.runs.map((run) => String(run.request.body?.message));
    assert.equal(tasks.filter((task) => task.includes('the one nobody heard')).length, 1, 'taken once');
    assert.equal(tasks.filter((task) => task.includes('the one before the kill')).length, 1, 'not taken again');
    const runs = await world.store.recentRuns({ limit: 10 });
    assert.deepEqual(
      runs.map((run) => run.status),
      ['complete', 'complete'],
      'both runs finished',
    );
    const answers = world.fake
      .messagesIn(world.channels.general!)
      .filter((m) => m.messageReference?.message_id === missed.id && m.content.includes('```json'));
    assert.equal(answers.length, 1, 'answered once');
    const embeds = world.fake.messagesIn(world.channels['dl-secretary']!).filter((m) => m.embeds.length > 0);
    assert.equal(embeds.length, 2, 'one embed per run');
  },
);
