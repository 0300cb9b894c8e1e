import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoPings, privateAnswer, startWorld, type World } from './support/bot-world.ts';

function delegate(world: World, userId: string, agent: string, extra: { channelId?: string } = {}) {
  return world.fake.sendSlashCommand({
    ...(extra.channelId === undefined
      ? { channelId: world.channels.general! }
      : extra.channelId
        ? { channelId: extra.channelId }
        : {}),
    userId,
    name: 'delegate',
    options: { agent, task: 'check the access rules' },
  });
}

test('autocomplete offers only the agents the member may reach, each with its cached health, and never probes', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users, gateways } = world;
  // The bot probes every agent once when it connects; let those land, then make one unhealthy.
  await Promise.all(
    Object.values(gateways).map((gateway) => (gateway.healthRequests > 0 ? Promise.resolve() : gateway.next('health'))),
  );
  gateways.secretary.setHealth('status-503');
  await world.engine.health('secretary');
  const probes =
    gateways.webster.healthRequests + gateways.secretary.healthRequests + gateways['tech-lead'].healthRequests;

  const forAlice = await fake.sendAutocomplete({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    focused: 'agent',
    options: { agent: '' },
  });
  assert.deepEqual(
    forAlice.map((c) => c.value),
    ['secretary', 'tech-lead', 'webster'],
  );
  assert.match(forAlice.find((c) => c.value === 'webster')!.name, /^webster — healthy \d+ ms$/);
  assert.match(forAlice.find((c) => c.value === 'secretary')!.name, /^secretary — unhealthy/);

  const forBob = await fake.sendAutocomplete({
    channelId: channels.general!,
    userId: users.bob,
    name: 'delegate',
    focused: 'agent',
    options: { agent: 'w' },
  });
  assert.deepEqual(
    forBob.map((c) => c.value),
    ['webster'],
  );
  const forCarol = await fake.sendAutocomplete({
    channelId: channels.general!,
    userId: users.carol,
    name: 'delegate',
    focused: 'agent',
    options: { agent: '' },
  });
  assert.deepEqual(forCarol, []);

  assert.equal(
    gateways.webster.healthRequests + gateways.secretary.healthRequests + gateways['tech-lead'].healthRequests,
    probes,
    'no probe per keystroke',
  );
});

test('a member is allowed through a mapped role and through a mapped user id', async (t) => {
  const world = await startWorld(t);
  const byRole = delegate(world, world.users.alice, 'tech-lead');
  const byUser = delegate(world, world.users.bob, 'webster');
  const [roleRun] = await world.gateways['tech-lead'].next('run');
  const [userRun] = await world.gateways.webster.next('run');
  assert.ok(roleRun && userRun);
  assert.match((await byRole.original((m) => m.content.includes('→'), 10_000)).content, /tech-lead/);
  assert.match((await byUser.original((m) => m.content.includes('→'), 10_000)).content, /webster/);
  assertNoPings(world);
});

test('refusals say why and what to ask an admin for, naming no config key: unmapped, beyond the ACL row, deny role, DM', async (t) => {
  const world = await startWorld(t);
  const { fake, users, roles, guild } = world;

  const unmapped = await privateAnswer(world, delegate(world, users.carol, 'webster').id);
  assert.match(
    unmapped.content,
    /not mapped to any principal.*Ask an admin of this bot to grant your user or one of your roles/,
  );

  const beyond = await privateAnswer(world, delegate(world, users.erin, 'webster').id);
  assert.match(beyond.content, /You may not delegate to webster: 'secretary' cannot delegate to 'webster'/);
  assert.match(
    beyond.content,
    /ask an admin of this bot to let secretary delegate to it, or to give you a role that may/,
  );

  fake.updateMemberRoles(guild.id, users.alice, [roles.leads, roles.denied]);
  const denied = await privateAnswer(world, delegate(world, users.alice, 'webster').id);
  assert.match(denied.content, /You hold a role that may not delegate/);

  const dm = await privateAnswer(world, delegate(world, users.alice, 'webster', { channelId: '' }).id);
  assert.match(dm.content, /not in direct messages/);

  for (const refusal of [unmapped, beyond, denied, dm]) assert.doesNotMatch(refusal.content, /discord\.|acl|config/);
  for (const gateway of Object.values(world.gateways))
    assert.equal(gateway.runCount, 0, 'no refused request reached an agent');
  assertNoPings(world);
});

test('self-delegation is refused: a member mapped to an agent principal cannot delegate to that agent', async (t) => {
  const world = await startWorld(t);
  const answer = await privateAnswer(world, delegate(world, world.users.bob, 'tech-lead').id);
  assert.match(answer.content, /'tech-lead' cannot delegate to itself/);
  assert.match(answer.content, /You may delegate to: secretary, webster/);
});

test('a role removed mid-session stops working at the next command', async (t) => {
  const world = await startWorld(t);
  const { fake, users, guild } = world;
  const first = delegate(world, users.alice, 'secretary');
  await first.original((m) => m.embeds.length > 0 || m.content.includes('→'), 10_000);

  fake.updateMemberRoles(guild.id, users.alice, []);
  const second = await privateAnswer(world, delegate(world, users.alice, 'secretary').id);
  assert.match(second.content, /not mapped to any principal/);
  assert.equal(world.gateways.secretary.runCount, 1);
});
