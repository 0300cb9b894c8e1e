/**
 * Leader and standby (issue 14): real bot processes sharing one PostgreSQL database, the fake
 * Discord and fake gateways. Each test SIGKILLs the leader at a chosen point and proves a standby
 * takes over: every run finishes and is delivered once, nothing is sent twice.
 * failover-handover.test.ts has the lease cut, SIGTERM, restart and mention cases.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { pgSkipReason } from './support/pg-cluster.ts';
import {
  assertFinishedOnce,
  fileCluster,
  firstToLog,
  opsGet,
  RUNNING,
  startPgProcessWorld,
} from './support/pg-process-world.ts';
import { delegate, deliveredEmbed, waitingRun } from './support/process-runs.ts';

const LONG = 30_000;
const skip = pgSkipReason();
const cluster = fileCluster();

test(
  'SIGKILL on the leader while its run waits: the standby takes over, corrects the reply, resumes the run and delivers once',
  { timeout: 120_000, skip },
  async (t) => {
    const world = await startPgProcessWorld(t, await cluster(), {
      script: { respond: 'admit', agent: { write: 'none' } },
    });
    const { leader, standby } = await world.startPair();
    const { handle, runId } = await waitingRun(world, 'survive the leader');

    leader.kill('SIGKILL');
    await leader.exited;
    await standby.waitForLog((line) => line.msg === RUNNING, { timeoutMs: LONG });
    // The dead leader left the reply spinning with its Cancel button; the new leader says where it stands.
    const corrected = await handle.original((m) => /resumed after restart/.test(m.content), LONG);
    assert.match(corrected.content, /waiting for webster/);
    await world.writeHandoff(runId, 'webster');
    const embed = await deliveredEmbed(world, handle);
    await assertFinishedOnce(world, runId, embed);
    await standby.stop();
  },
);

test(
  'SIGKILL on the leader after the handoff, while Discord fails the embed: the standby delivers it once',
  { timeout: 120_000, skip },
  async (t) => {
    const world = await startPgProcessWorld(t, await cluster(), {
      script: { respond: 'admit', agent: { write: 'valid' } },
    });
    const dl = world.channels['dl-webster']!;
    const outage = world.fake.failNext(`POST /channels/${dl}/messages`, { status: 503, times: Infinity });
    const { leader, standby } = await world.startPair();
    const failed = world.fake.waitFor(
      'request_failed',
      (entry) => entry.method === 'POST' && entry.path === `/channels/${dl}/messages`,
      { timeoutMs: LONG },
    );
    const { handle, runId } = await delegate(world, 'finish, then lose the leader');
    await failed;
    assert.equal((await world.store.getRun(runId))?.status, 'complete', 'the run finished');
    assert.equal(
      (await world.store.getDelivery(runId, 'result-embed'))?.deliveredAt,
      undefined,
      'its embed is in the outbox, not delivered',
    );

    leader.kill('SIGKILL');
    await leader.exited;
    outage.cancel();
    await standby.waitForLog((line) => line.msg === RUNNING, { timeoutMs: LONG });
    const embed = await deliveredEmbed(world, handle);
    await assertFinishedOnce(world, runId, embed);
    await standby.stop();
  },
);

test(
  'SIGKILL on the leader while the embed is being created: the standby repeats the create with its nonce, one embed',
  { timeout: 120_000, skip },
  async (t) => {
    const world = await startPgProcessWorld(t, await cluster(), {
      script: { respond: 'admit', agent: { write: 'valid' } },
    });
    const dl = world.channels['dl-webster']!;
    const { leader, standby } = await world.startPair();
    // Killed the moment Discord has stored the message, before the leader can read the answer.
    const created = new Promise<StoredMessage>((resolve) => {
      const off = world.fake.on('message_create', (message) => {
        if (message.channelId !== dl || message.embeds.length === 0) return;
        leader.kill('SIGKILL');
        off();
        resolve(message);
      });
    });
    const { handle, runId } = await delegate(world, 'post it twice, see it once');
    const first = await created;
    await leader.exited;
    assert.equal(
      (await world.store.getDelivery(runId, 'result-embed'))?.deliveredAt,
      undefined,
      'the dead leader never learnt it was posted',
    );

    await standby.waitForLog((line) => line.msg === RUNNING, { timeoutMs: LONG });
    await handle.original((m) => m.content.includes(first.id), LONG);
    const creates = world.fake.requests(`POST /channels/${dl}/messages`);
    const nonces = creates.map((request) => (request.body as { nonce?: unknown }).nonce);
    assert.equal(creates.length, 2, 'the standby sent the create again');
    assert.equal(nonces[0], nonces[1], 'with the same nonce');
    await assertFinishedOnce(world, runId, first);
    await standby.stop();
  },
);

test(
  'three processes, the leader SIGKILLed: exactly one standby takes over and delivers once, the other stands by',
  { timeout: 120_000, skip },
  async (t) => {
    const world = await startPgProcessWorld(t, await cluster(), {
      script: { respond: 'admit', agent: { write: 'none' } },
    });
    const leader = await world.startLeader();
    const standbys = [await world.startStandby(), await world.startStandby()];
    const { handle, runId } = await waitingRun(world, 'one of two takes it');

    leader.kill('SIGKILL');
    await leader.exited;
    const { bot: next, index } = await firstToLog(standbys, RUNNING);
    const other = standbys[1 - index]!;
    await world.writeHandoff(runId, 'webster');
    const embed = await deliveredEmbed(world, handle);
    await assertFinishedOnce(world, runId, embed);
    assert.equal(JSON.parse((await opsGet(other, '/healthz')).text).role, 'standby', other.stderr());
    assert.ok(!other.lines.some((line) => line.msg === 'leading'), 'the other standby never led');
    assert.equal(JSON.parse((await opsGet(next, '/healthz')).text).role, 'leader');
    // The standby first: stopping the leader first would hand it the lease.
    assert.equal((await other.stop()).code, 0);
    await next.stop();
  },
);
