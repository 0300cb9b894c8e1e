/**
 * A moderator deletes the /delegate reply while the run goes on (issue 12, item 8): every later
 * edit of it gets 404 / 10008, so the answer continues in a channel message to the requester,
 * pinging nobody, and the delivery completes instead of waiting for a restart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoPings, startWorld } from './support/bot-world.ts';

test('a /delegate reply deleted mid-run continues as a channel message and the delivery completes', async (t) => {
  const world = await startWorld(t, { script: { respond: 'admit', agent: { write: 'valid', afterMs: 1_500 } } });
  const { fake, channels, users } = world;
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'slow one' },
  });
  const progress = await handle.original((m) => /waiting for webster|sent to webster/.test(m.content), 10_000);
  fake.deleteMessage(progress.id);

  const posted = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: 10_000 });
  const inChannel = await fake.waitForMessage(
    channels.general!,
    (m) => m.source === 'channel' && m.content.includes(posted.id),
    { timeoutMs: 10_000 },
  );
  assert.match(inChannel.content, new RegExp(`^<@${users.alice}>: the reply to your /delegate was deleted`));
  const delivered = await world.waitForLog((entry) => entry.msg === 'result delivered');
  assert.equal(
    world.store!.pendingDeliveries().filter((d) => d.runId === delivered.runId).length,
    0,
    'nothing is left pending for a restart',
  );
  assert.equal(
    world.logLines.filter((line) => line.includes('the requester cannot be answered')).length,
    0,
    'the delivery was not given up',
  );
  assertNoPings(world);
});
