import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFileSchema } from '../src/config.ts';
import { isAdmin, resolvePrincipals } from '../src/access/discord-principals.ts';
import type { DiscordActor } from '../src/access/discord-principals.ts';

const GUILD = '100000000000000000';
const ALICE = '200000000000000001';
const BOB = '200000000000000002';
const CAROL = '200000000000000003';
const WEBSTER_BOT = '300000000000000001';
const OTHER_BOT = '300000000000000002';
const LEADS = '400000000000000001';
const OPS = '400000000000000002';
const MUTED = '400000000000000003';
const ADMINS = '400000000000000004';

const discord = configFileSchema.parse({
  discord: {
    guildId: GUILD,
    principals: {
      users: { [ALICE]: ['manager'], [CAROL]: ['optimizer'] },
      roles: { [LEADS]: ['tech-lead'], [OPS]: ['optimizer', 'tech-lead'] },
    },
    agentBots: { [WEBSTER_BOT]: 'webster' },
    denyRoleIds: [MUTED],
    adminRoleIds: [ADMINS],
  },
}).discord;

function member(userId: string, roleIds: string[] = [], extra: Partial<DiscordActor> = {}): DiscordActor {
  return { userId, roleIds, isBot: false, webhookId: null, guildId: GUILD, ...extra };
}

test('a user mapped by id gets that principal', () => {
  assert.deepEqual(resolvePrincipals(member(ALICE), discord), { ok: true, principals: ['manager'] });
});

test('a member gets the principals of a mapped role', () => {
  assert.deepEqual(resolvePrincipals(member(BOB, [LEADS]), discord), { ok: true, principals: ['tech-lead'] });
});

test('user and role grants are united without duplicates', () => {
  assert.deepEqual(resolvePrincipals(member(CAROL, [LEADS, OPS]), discord), {
    ok: true,
    principals: ['optimizer', 'tech-lead'],
  });
  assert.deepEqual(resolvePrincipals(member(ALICE, [OPS]), discord), {
    ok: true,
    principals: ['manager', 'optimizer', 'tech-lead'],
  });
});

test('the guild id counts as the @everyone role even when the member lists no roles', () => {
  const everyone = { ...discord, principals: { ...discord.principals, roles: { [GUILD]: ['secretary'] } } };
  assert.deepEqual(resolvePrincipals(member(BOB), everyone), { ok: true, principals: ['secretary'] });
});

test('a deny role overrides every grant, by user or by role', () => {
  const result = resolvePrincipals(member(ALICE, [LEADS, MUTED]), discord);
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.code === 'HQ_ERR_ACCESS_DENIED');
  assert.match(
    !result.ok ? result.reason : '',
    /You hold a role that may not delegate; it overrides every other grant/,
  );
});

test('direct messages are refused', () => {
  for (const guildId of [null, undefined]) {
    const result = resolvePrincipals(member(ALICE, [], { guildId }), discord);
    assert.ok(!result.ok);
    assert.match(result.reason, /^\/delegate works only in the server/);
  }
});

test('webhook messages are refused even when they carry an agent bot id or a mapped user id', () => {
  for (const actor of [
    member(WEBSTER_BOT, [], { isBot: true, webhookId: '900000000000000001' }),
    member(ALICE, [], { webhookId: '900000000000000001' }),
  ]) {
    const result = resolvePrincipals(actor, discord);
    assert.ok(!result.ok);
    assert.match(result.reason, /Webhooks cannot delegate/);
  }
});

test('an agent bot account maps to its agent principal and nothing else', () => {
  assert.deepEqual(resolvePrincipals(member(WEBSTER_BOT, [LEADS], { isBot: true }), discord), {
    ok: true,
    principals: ['webster'],
  });
});

test('a deny role also stops an agent bot', () => {
  assert.equal(resolvePrincipals(member(WEBSTER_BOT, [MUTED], { isBot: true }), discord).ok, false);
});

test('a bot that is not a registered agent bot is refused, whatever its roles', () => {
  const result = resolvePrincipals(member(OTHER_BOT, [LEADS], { isBot: true }), discord);
  assert.ok(!result.ok);
  assert.match(result.reason, /not registered as an agent\. Ask an admin of hq-delegate to register it/);
  assert.doesNotMatch(result.reason, /discord\./, 'no config key in a member-facing reply');
});

test('an unmapped user is told why and what to ask an admin for, naming no config key or file', () => {
  const result = resolvePrincipals(member(BOB, ['499999999999999999']), discord);
  assert.ok(!result.ok);
  assert.equal(result.code, 'HQ_ERR_ACCESS_DENIED');
  assert.match(
    result.reason,
    /Ask an admin of this bot to grant your user or one of your roles the right to delegate\./,
  );
  assert.doesNotMatch(result.reason, /discord\.|config/, 'no config key or file in a Discord reply');
});

test('a member of another server is refused when the config names the home guild', () => {
  const result = resolvePrincipals(member(ALICE, [], { guildId: '100000000000000099' }), discord);
  assert.ok(!result.ok);
  assert.match(result.reason, /its own server/);
});

test('prototype keys never grant anything', () => {
  assert.equal(resolvePrincipals(member('__proto__', ['constructor']), discord).ok, false);
});

test('isAdmin is true for an admin role and false in DMs, for webhooks and for denied members', () => {
  assert.equal(isAdmin(member(BOB, [ADMINS]), discord), true);
  assert.equal(isAdmin(member(BOB, [LEADS]), discord), false);
  assert.equal(isAdmin(member(BOB, [ADMINS], { guildId: null }), discord), false);
  assert.equal(isAdmin(member(BOB, [ADMINS], { webhookId: '900000000000000001' }), discord), false);
  assert.equal(isAdmin(member(BOB, [ADMINS, MUTED]), discord), false);
});
