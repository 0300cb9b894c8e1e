import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoPings, startWorld } from './support/bot-world.ts';

test('/delegate is deferred at once, shows progress, posts the embed in #dl-webster and links it from the reply', async (t) => {
  const world = await startWorld(t, { script: { respond: 'admit', agent: { write: 'valid', afterMs: 600 } } });
  const { fake, channels, users } = world;

  const handle = fake.sendSlashCommand({ channelId: channels.general!, userId: users.alice, name: 'delegate', options: { agent: 'webster', task: 'summarise the open PRs' } });
  const ack = await handle.acknowledged();
  assert.equal(ack.type, 5, 'deferred (type 5)');
  assert.ok(ack.elapsedMs < 500, `deferred within 500 ms (took ${ack.elapsedMs} ms)`);

  const progress = await handle.original((m) => /waiting for webster|sent to webster/.test(m.content));
  assert.ok(progress.interactiveComponents.some((c) => String(c.custom_id).startsWith('cancel:')), 'a Cancel button while running');

  const embedMessage = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: 10_000 });
  const embed = embedMessage.embeds[0]!;
  assert.match(embed.title ?? '', /Findings/);
  assert.ok(embed.fields?.some((f) => f.name === 'Status' && /Complete/.test(f.value)));

  const final = await handle.original((m) => m.content.includes(embedMessage.id), 10_000);
  assert.match(final.content, /webster/);
  assert.equal(final.interactiveComponents.length, 0, 'no Cancel button once done');
  const edits = final.requestBodies.length;
  assert.ok(edits >= 3, `progress was edited in place (${edits} bodies)`);
  assertNoPings(world);
});
