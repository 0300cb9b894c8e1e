/**
 * The handoff secret (the random part of `<agent>/<runId>.<secret>.json`) is known only to the
 * prompt and the run store. Whatever the bot shows on Discord, for a run that succeeds or one
 * whose handoff is broken, must not carry it: checked against everything the fake Discord holds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FakeDiscord, InteractionHandle } from './fakes/fake-discord/index.ts';
import type { FakeGateway } from './fakes/fake-gateway.ts';
import { startWorld, type World } from './support/bot-world.ts';

/** Every text the fake Discord recorded: messages (every version and request body), files, REST requests. */
function everythingDiscordHolds(fake: FakeDiscord): string {
  const parts: string[] = [];
  const fileIds = new Set<string>();
  for (const message of fake.allMessages()) {
    parts.push(JSON.stringify([message.data, message.history, message.requestBodies]));
    for (const file of message.files.values()) parts.push(file.filename, file.description ?? '', file.text());
    for (const version of [message.data, ...message.history])
      for (const attachment of version.attachments) fileIds.add(attachment.id);
  }
  for (const id of fileIds) {
    const file = fake.file(id);
    if (file) parts.push(file.filename, file.text());
  }
  // Interaction callbacks, webhook edits and follow-ups, channel sends: bodies, paths, answers.
  for (const request of fake.requests()) {
    parts.push(JSON.stringify([request.path, request.query, request.body, request.files, request.responseBody]));
  }
  return parts.join('\n');
}

/** Starts a /delegate to webster; returns its reply and the run's secret, read while the run is open. */
async function delegateAndCaptureSecret(
  world: World,
  gateway: FakeGateway,
  options: { task: string; retries?: number },
): Promise<{ handle: InteractionHandle; secret: string }> {
  const started = gateway.next('run');
  const handle = world.fake.sendSlashCommand({
    channelId: world.channels.general!,
    userId: world.users.alice,
    name: 'delegate',
    options: { agent: 'webster', ...options },
  });
  const [run] = await started;
  const secret = /\.([0-9a-f]{32})\.json$/.exec(run.handoffPath ?? '')?.[1] ?? '';
  assert.equal(secret.length, 32, `the prompt names a secret path (${run.handoffPath})`);
  const journaled = world.store?.listResumable().find((open) => open.runId === run.runId)?.handoffSecret;
  assert.equal(journaled, secret, 'the secret the prompt names is the one the store journaled');
  return { handle, secret };
}

test('the handoff secret is in no Discord message, embed, file or interaction answer, /runs included', async (t) => {
  const world = await startWorld(t, {
    script: { respond: 'admit', agent: { write: 'valid', afterMs: 300 } },
    // Longer than a progress edit, so the "retrying" line (with its reason) reaches Discord.
    engine: { retryPauseMs: 1_000 },
  });
  const { fake, channels, users, gateways } = world;
  const results = channels['dl-webster']!;

  const complete = await delegateAndCaptureSecret(world, gateways.webster, { task: 'summarise the open PRs' });
  await fake.waitForMessage(results, (m) => m.embeds.some((e) => /Complete/.test(JSON.stringify(e))), {
    timeoutMs: 10_000,
  });

  // A broken handoff: retried (the reply says why, the retry prompt tells the agent), then shown as malformed.
  gateways.webster.setDefault({ respond: 'admit', agent: { write: 'malformed', afterMs: 300 } });
  const malformed = await delegateAndCaptureSecret(world, gateways.webster, { task: 'find the source', retries: 2 });
  await malformed.handle.original((m) => /retrying/.test(m.content), 10_000);
  await fake.waitForMessage(results, (m) => m.embeds.some((e) => /Malformed/i.test(JSON.stringify(e))), {
    timeoutMs: 10_000,
  });

  const runs = fake.sendSlashCommand({ channelId: channels.general!, userId: users.alice, name: 'runs' });
  const list = await runs.original((m) => m.embeds.length > 0, 10_000);
  assert.equal((list.embeds[0]?.description?.match(/webster/g) ?? []).length, 2, 'both runs are listed');

  const held = everythingDiscordHolds(fake);
  assert.ok(held.includes('summarise the open PRs'), 'the search sees what the bot posted');
  for (const { secret } of [complete, malformed])
    assert.ok(!held.includes(secret), `the secret ${secret} reached Discord`);
});
