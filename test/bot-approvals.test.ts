/**
 * Approval before sensitive agents run (issue 13): a delegation to an agent under an approval
 * rule waits, with a card in the approval channel, until an approver decides; nothing reaches the
 * gateway before. Real client against the fake Discord, fake gateways, the real store.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { assertNoPings, privateAnswer, startWorld, type World, type WorldOptions } from './support/bot-world.ts';

interface RuleOverrides {
  readonly ttlMinutes?: number;
  readonly allowSelfApproval?: boolean;
  /** Approver roles by name; default none. */
  readonly roles?: readonly ('leads' | 'admins')[];
}

/** webster needs approval by dana (a user id) and whatever roles are named; cards go to #approvals. */
function approvalWorld(t: Parameters<typeof startWorld>[0], rule: RuleOverrides = {}, extra: WorldOptions = {}) {
  return startWorld(t, {
    channels: ['dl-webster', 'dl-tech-lead', 'approvals'],
    ...extra,
    discord: (users, channels, roles) => ({
      approval: {
        agents: {
          webster: {
            approverUserIds: [users.dana],
            approverRoleIds: (rule.roles ?? []).map((name) => roles[name]),
            channel: channels.approvals,
            ttlMinutes: rule.ttlMinutes ?? 30,
            ...(rule.allowSelfApproval === undefined ? {} : { allowSelfApproval: rule.allowSelfApproval }),
          },
        },
      },
    }),
  });
}

function askWebster(world: World, userId = world.users.alice) {
  return world.fake.sendSlashCommand({
    channelId: world.channels.general!,
    userId,
    name: 'delegate',
    options: { agent: 'webster', task: 'delete the stale branches' },
  });
}

function buttonOf(card: StoredMessage, prefix: 'approve' | 'reject'): string {
  const id = card.interactiveComponents.map((c) => String(c.custom_id)).find((c) => c.startsWith(`${prefix}:`));
  assert.ok(id, `the card has a ${prefix} button`);
  return id;
}

function waitForCard(world: World, predicate: (m: StoredMessage) => boolean = (m) => m.embeds.length > 0) {
  return world.fake.waitForMessage(world.channels.approvals!, predicate, { timeoutMs: 10_000 });
}

function buttonsDisabled(world: World, cardId: string): boolean {
  const rows = (world.fake.message(cardId)?.data.components ?? []) as { components?: { disabled?: boolean }[] }[];
  const buttons = rows.flatMap((row) => row.components ?? []);
  return buttons.length === 2 && buttons.every((button) => button.disabled === true);
}

function decision(message: StoredMessage | undefined): string {
  return message?.embeds[0]?.fields?.find((f) => f.name === 'Decision')?.value ?? '';
}

async function approvalEvents(world: World): Promise<Record<string, unknown>[]> {
  const dir = world.config.paths.logDir;
  const lines: Record<string, unknown>[] = [];
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort()) {
    for (const line of (await readFile(path.join(dir, file), 'utf8')).split('\n').filter(Boolean)) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (String(entry.event).startsWith('approval_')) lines.push(entry);
    }
  }
  return lines;
}

test('a run for an agent under approval waits with a card; Approve sends it, once', async (t) => {
  const world = await approvalWorld(t);
  const { fake, users, gateways } = world;
  const ask = askWebster(world);
  const waiting = await ask.original((m) => /Waiting for approval/.test(m.content));
  assert.match(waiting.content, new RegExp(`<@${users.dana}>`), 'the reply names whom it waits for');
  assert.match(waiting.content, /<t:\d+:R>/, 'and when it expires');

  const card = await waitForCard(world);
  const fields = Object.fromEntries((card.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));
  assert.match(fields.Task ?? '', /delete the stale branches/);
  assert.match(fields['Requested by'] ?? '', new RegExp(`<@${users.alice}>`));
  assert.equal(fields.Agent, 'webster');
  assert.equal(fields.Context, 'none');
  assert.match(fields.Expires ?? '', /<t:\d+:f>/);
  assert.equal(gateways.webster.runCount, 0, 'nothing is sent before the approval');

  const posted = gateways.webster.next('request');
  fake.clickButton({ messageId: card.id, customId: buttonOf(card, 'approve'), userId: users.dana });
  await posted;
  const result = await fake.waitForMessage(world.channels['dl-webster']!, (m) => m.embeds.length > 0, {
    timeoutMs: 10_000,
  });
  await ask.original((m) => m.content.includes(result.id), 10_000);
  assert.equal(gateways.webster.runCount, 1);
  assert.ok(buttonsDisabled(world, card.id), "the card's buttons are disabled");
  assert.match(decision(fake.message(card.id)), new RegExp(`Approved by <@${users.dana}>`));

  const events = await approvalEvents(world);
  assert.deepEqual(
    events.map((e) => [e.event, e.by]),
    [
      ['approval_requested', users.alice],
      ['approval_approved', users.dana],
    ],
  );
  assertNoPings(world);
});

test('Reject (with a reason) ends the run: nothing is sent, the requester is told, the card shows it', async (t) => {
  const world = await approvalWorld(t);
  const { fake, users, gateways } = world;
  const ask = askWebster(world);
  const card = await waitForCard(world);
  const press = fake.clickButton({ messageId: card.id, customId: buttonOf(card, 'reject'), userId: users.dana });
  assert.equal((await press.acknowledged()).type, 9, 'Reject asks for a reason in a modal');
  assert.equal(gateways.webster.runCount, 0);
  fake.submitModal({ from: press, userId: users.dana, fields: { reason: 'not during the freeze' } });
  const told = await ask.original((m) => /rejected/.test(m.content), 10_000);
  assert.match(told.content, new RegExp(`rejected by <@${users.dana}>: not during the freeze`));
  await fake.waitForMessage(
    world.channels.approvals!,
    (m) => m.id === card.id && /Rejected by .*not during the freeze/.test(decision(m)),
    { timeoutMs: 10_000 },
  );
  assert.ok(buttonsDisabled(world, card.id));
  assert.equal(gateways.webster.runCount, 0, 'no POST after a rejection');
  assert.deepEqual(
    (await approvalEvents(world)).map((e) => [e.event, e.by]),
    [
      ['approval_requested', users.alice],
      ['approval_rejected', users.dana],
    ],
  );
  assert.equal((await approvalEvents(world)).at(-1)?.reason, 'not during the freeze');
  assertNoPings(world);
});

test('an approval nobody gives expires: nothing is sent, the requester is told, the card shows it', async (t) => {
  // A ttl of about a second; the test awaits the card's edit, it does not sleep.
  const world = await approvalWorld(t, { ttlMinutes: 0.02 });
  const { fake, users, gateways } = world;
  const ask = askWebster(world);
  const card = await waitForCard(world);
  assert.equal(gateways.webster.runCount, 0);
  await fake.waitForMessage(world.channels.approvals!, (m) => m.id === card.id && /Expired/.test(decision(m)), {
    timeoutMs: 10_000,
  });
  const told = await ask.original((m) => /not approved before/.test(m.content), 10_000);
  assert.match(told.content, /Nothing was sent/);
  assert.ok(buttonsDisabled(world, card.id));
  assert.equal(gateways.webster.runCount, 0);
  assert.deepEqual(
    (await approvalEvents(world)).map((e) => [e.event, e.by]),
    [
      ['approval_requested', users.alice],
      ['approval_expired', 'system'],
    ],
  );
});

test("a non-approver's press is refused privately and starts nothing", async (t) => {
  const world = await approvalWorld(t);
  const { fake, users, gateways } = world;
  askWebster(world);
  const card = await waitForCard(world);
  for (const [who, prefix] of [
    [users.bob, 'approve'],
    [users.carol, 'reject'],
  ] as const) {
    const press = fake.clickButton({ messageId: card.id, customId: buttonOf(card, prefix), userId: who });
    assert.match((await privateAnswer(world, press.id)).content, new RegExp(`Only <@${users.dana}> may decide`));
  }
  assert.equal(gateways.webster.runCount, 0);
  assert.equal(decision(fake.message(card.id)), '', 'the card still waits');
  assert.ok(!buttonsDisabled(world, card.id));
});

test('a requester may not approve their own run unless the rule allows it', async (t) => {
  const refused = await approvalWorld(t, { roles: ['leads'] });
  askWebster(refused);
  const card = await waitForCard(refused);
  const own = refused.fake.clickButton({
    messageId: card.id,
    customId: buttonOf(card, 'approve'),
    userId: refused.users.alice,
  });
  assert.match((await privateAnswer(refused, own.id)).content, /someone else must approve it/);
  assert.equal(refused.gateways.webster.runCount, 0);

  const allowed = await approvalWorld(t, { roles: ['leads'], allowSelfApproval: true });
  askWebster(allowed);
  const allowedCard = await waitForCard(allowed);
  const posted = allowed.gateways.webster.next('request');
  allowed.fake.clickButton({
    messageId: allowedCard.id,
    customId: buttonOf(allowedCard, 'approve'),
    userId: allowed.users.alice,
  });
  await posted;
  assert.equal(allowed.gateways.webster.runCount, 1);
});

test('a double-clicked Approve sends one POST; the second press is told it was already approved', async (t) => {
  const world = await approvalWorld(t);
  const { fake, users, gateways } = world;
  askWebster(world);
  const card = await waitForCard(world);
  const id = buttonOf(card, 'approve');
  fake.clickButton({ messageId: card.id, customId: id, userId: users.dana });
  const second = fake.clickButton({ messageId: card.id, customId: id, userId: users.dana });
  assert.match((await privateAnswer(world, second.id)).content, /already approved by/);
  await fake.waitForMessage(world.channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: 10_000 });
  assert.equal(gateways.webster.runCount, 1, 'one run, however many presses');
});

test('an agent mention that needs approval waits too, and its reply says whom for', async (t) => {
  const world = await approvalWorld(t);
  const { fake, users, gateways, channels } = world;
  // tech-lead (bob) may reach webster; here by an @mention of the bot.
  const me = fake.botUser.id;
  const message = fake.postMessage({
    channelId: channels.general!,
    authorId: users.bob,
    content: `<@${me}> webster: delete the stale branches`,
  });
  const waiting = await fake.waitForMessage(
    channels.general!,
    (m) => m.messageReference?.message_id === message.id && /Waiting for approval/.test(m.content),
    { timeoutMs: 10_000 },
  );
  assert.match(waiting.content, new RegExp(`<@${users.dana}>`));
  const card = await waitForCard(world);
  const posted = gateways.webster.next('request');
  fake.clickButton({ messageId: card.id, customId: buttonOf(card, 'approve'), userId: users.dana });
  await posted;
  assert.equal(gateways.webster.runCount, 1);
  assertNoPings(world);
});
