/**
 * The Retry button (issue 12, item 9): one press, one run, however fast the double-click; the
 * button works once (it is disabled after the press, and the store remembers the claim); the
 * retry's progress is shown to the presser alone, not posted into #dl-<agent>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoPings, privateAnswer, startWorld, type World } from './support/bot-world.ts';
import type { StoredMessage } from './fakes/fake-discord/index.ts';

async function failedResult(world: World): Promise<{ message: StoredMessage; retryId: string }> {
  const { fake, channels, users, gateways } = world;
  gateways.webster.enqueue({ respond: 'admit', agent: { write: 'failed' } });
  fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'find the source' },
  });
  const message = await fake.waitForMessage(
    channels['dl-webster']!,
    (m) => m.interactiveComponents.some((c) => String(c.custom_id).startsWith('retry:')),
    { timeoutMs: 10_000 },
  );
  const retryId = String(
    message.interactiveComponents.find((c) => String(c.custom_id).startsWith('retry:'))?.custom_id,
  );
  return { message, retryId };
}

test('a double-clicked Retry starts one run; the second press is told, and the button is disabled', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users, gateways } = world;
  const { message, retryId } = await failedResult(world);
  assert.equal(gateways.webster.runCount, 1);

  const first = fake.clickButton({ messageId: message.id, customId: retryId, userId: users.bob });
  const second = fake.clickButton({ messageId: message.id, customId: retryId, userId: users.bob });
  const refusal = await privateAnswer(world, second.id);
  assert.match(refusal.content, /was already retried by <@\d+>; each Retry button works once/);

  const retried = await fake.waitForMessage(
    channels['dl-webster']!,
    (m) => m.id !== message.id && m.embeds.length > 0,
    { timeoutMs: 10_000 },
  );
  await first.original((m) => m.content.includes(retried.id), 10_000);
  assert.equal(gateways.webster.runCount, 2, 'the original run and one retry');

  const button = fake.message(message.id)?.data.components?.[0] as
    { components?: { disabled?: boolean }[] } | undefined;
  assert.equal(button?.components?.[0]?.disabled, true, 'the used Retry button is disabled');
  assert.ok(fake.message(message.id)?.embeds.length, 'the result message keeps its embed');
  assertNoPings(world);
});

test("a retry's progress goes to the presser privately, not into #dl-webster", async (t) => {
  const world = await startWorld(t, { script: { respond: 'admit', agent: { write: 'valid', afterMs: 800 } } });
  const { fake, channels, users } = world;
  const { message, retryId } = await failedResult(world);
  const press = fake.clickButton({ messageId: message.id, customId: retryId, userId: users.bob });
  const ack = await press.acknowledged();
  assert.equal(ack.type, 5);
  assert.equal(((ack.body as { data?: { flags?: number } }).data?.flags ?? 0) & 64, 64, 'deferred ephemerally');
  const progress = await press.original((m) => /webster/.test(m.content), 10_000);
  assert.ok(progress.ephemeral, 'progress is shown to the presser alone');

  const retried = await fake.waitForMessage(
    channels['dl-webster']!,
    (m) => m.id !== message.id && m.embeds.length > 0,
    { timeoutMs: 10_000 },
  );
  await press.original((m) => m.content.includes(retried.id), 10_000);
  const publicInDl = fake.messagesIn(channels['dl-webster']!, { includeEphemeral: false });
  assert.deepEqual(
    publicInDl.filter((m) => m.embeds.length === 0).map((m) => m.content),
    [],
    'only result embeds are posted in #dl-webster',
  );
  assertNoPings(world);
});
