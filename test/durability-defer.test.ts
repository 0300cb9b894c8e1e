import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startProcessWorld } from './support/bot-process.ts';
import { assertNoPings, privateAnswer, startWorld } from './support/bot-world.ts';

const LONG = 30_000;

test(
  'SIGKILL after /delegate is deferred, before its run is journaled: the restarted bot tells the requester to ask again',
  { timeout: 90_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'valid' } } });
    const { fake, channels, users, gateways } = world;
    const first = await world.start();
    const handle = fake.sendSlashCommand({
      channelId: channels.general!,
      userId: users.alice,
      name: 'delegate',
      options: { agent: 'webster', task: 'lost in the window' },
    });
    // Killed the moment Discord has taken the defer, before the bot hears back.
    const deferred = new Promise<void>((resolve) => {
      const off = fake.on('interaction_callback', ({ interaction, callback }) => {
        if (interaction.id !== handle.id || callback.type !== 5) return;
        first.kill('SIGKILL');
        off();
        resolve();
      });
    });
    await deferred;
    await first.exited;
    assert.deepEqual(world.openStore().recentRuns({ limit: 10 }), [], 'no run was journaled');

    const second = await world.start();
    const told = await handle.original((m) => /restarted before this run could start/.test(m.content), LONG);
    assert.match(told.content, /nothing was sent to the agent\. Please ask again/);
    assert.equal(told.interactiveComponents.length, 0);
    await second.waitForLog((line) => line.msg === 'progress message left by the previous process finished');
    await second.stop();
    assert.equal(gateways.webster.hookRequests.length, 0, 'nothing was sent to the agent');
    assert.deepEqual(world.openStore().progressMessages(), [], 'nothing is left for the next start');
    assertNoPings(world);
  },
);

test('a /delegate refused after the defer leaves nothing for a restart to correct', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'nobody', task: 'to an agent that does not exist' },
  });
  assert.match((await privateAnswer(world, handle.id, LONG)).content, /nobody/);
  assert.deepEqual(world.store!.progressMessages(), []);
});
