import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInflate, constants as zlibConstants } from 'node:zlib';
import { WebSocket } from 'ws';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Routes,
  SlashCommandBuilder,
  type Interaction,
  type Message,
  type TextChannel,
} from 'discord.js';
import { FakeDiscord } from './fakes/fake-discord/index.ts';

/** Resolves with the first `messageCreate` on the client that matches. */
function clientMessage(client: Client, predicate: (m: Message) => boolean): Promise<Message> {
  return new Promise((resolve) => {
    const onMessage = (m: Message): void => {
      if (!predicate(m)) return;
      client.off(Events.MessageCreate, onMessage);
      resolve(m);
    };
    client.on(Events.MessageCreate, onMessage);
  });
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test('a real discord.js Client works against FakeDiscord', async (t) => {
  const fake = await FakeDiscord.start();
  t.after(() => fake.close());

  const guild = fake.createGuild({ name: 'HQ', channels: ['dl-webster', 'general'] });
  const delegates = fake.createRole({ guildId: guild.id, name: 'delegates' });
  const alice = fake.createMember({ guildId: guild.id, username: 'alice', roles: [delegates.id] });
  const channelId = guild.channels['dl-webster']!;

  const intents = [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.GuildMembers,
    GatewayIntentBits.MessageContent,
  ];
  const client = new Client({ intents, rest: { api: fake.apiBase } });
  t.after(() => client.destroy());

  // The bot under test: a tiny interaction handler.
  const seen: { roles?: string[]; agent?: string | null; permissions?: string | null } = {};
  const slowGate = deferred();
  const slowResult = deferred<unknown>();
  const doubleAck = deferred<unknown>();
  client.on(Events.InteractionCreate, async (i: Interaction) => {
    if (i.isAutocomplete()) {
      const typed = i.options.getFocused();
      await i.respond(['webster', 'wallace'].filter((a) => a.startsWith(typed)).map((a) => ({ name: a, value: a })));
      return;
    }
    if (i.isChatInputCommand() && i.commandName === 'delegate') {
      seen.roles = i.inCachedGuild() ? [...i.member.roles.cache.keys()] : [];
      seen.agent = i.options.getString('agent');
      seen.permissions = i.memberPermissions?.bitfield.toString() ?? null;
      await i.deferReply();
      const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId('approve:1').setLabel('Approve').setStyle(ButtonStyle.Success),
      );
      await i.editReply({
        content: `Delegating to ${seen.agent}: ${i.options.getString('prompt')}`,
        components: [row],
        allowedMentions: { parse: [] },
      });
      return;
    }
    if (i.isChatInputCommand() && i.commandName === 'slow') {
      await slowGate.promise;
      slowResult.resolve(await i.reply('too late').catch((e: unknown) => e));
      return;
    }
    if (i.isChatInputCommand() && i.commandName === 'twice') {
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      doubleAck.resolve(
        await client.rest
          .post(Routes.interactionCallback(i.id, i.token), { body: { type: 5 }, auth: false })
          .catch((e: unknown) => e),
      );
      return;
    }
    if (i.isButton() && i.customId === 'approve:1') {
      await i.update({ content: `Approved by ${i.user.username}`, components: [] });
    }
  });

  const ready = once(client, Events.ClientReady);
  await client.login(fake.token);
  await ready;

  await t.test('READY + GUILD_CREATE populate the caches; intents recorded', async () => {
    const cached = client.guilds.cache.get(guild.id);
    assert.ok(cached, 'guild cached');
    assert.equal(cached.name, 'HQ');
    assert.equal(cached.channels.cache.get(channelId)?.name, 'dl-webster');
    assert.ok(cached.roles.cache.has(delegates.id));
    assert.ok(cached.members.me, 'bot member cached');
    assert.equal(client.user?.id, fake.botUser.id);
    assert.equal(client.application?.id, fake.applicationId);
    const expected = intents.reduce((a, b) => a | b, 0);
    assert.equal(fake.lastIdentifyIntents, expected);
    const gw = fake.requests('GET /gateway/bot');
    assert.equal(gw.length, 1);
    assert.equal(gw[0]!.headers.authorization, `Bot ${fake.token}`);
    // Realistic GUILD_CREATE: without GUILD_PRESENCES only the bot member is sent; REST fetch works.
    const member = await cached.members.fetch(alice.id);
    assert.deepEqual([...member.roles.cache.keys()].sort(), [guild.id, delegates.id].sort());
  });

  await t.test('rejects requests with a wrong token', async () => {
    const res = await fetch(`${fake.apiBase}/v10/users/@me`, { headers: { Authorization: 'Bot nope' } });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { message: '401: Unauthorized', code: 0 });
  });

  await t.test('registers commands, validating like Discord', async () => {
    const commands = [
      new SlashCommandBuilder()
        .setName('delegate')
        .setDescription('Delegate a task')
        .addStringOption((o) => o.setName('agent').setDescription('Agent').setRequired(true).setAutocomplete(true))
        .addStringOption((o) => o.setName('prompt').setDescription('Prompt').setRequired(true)),
      new SlashCommandBuilder().setName('slow').setDescription('Replies too late'),
      new SlashCommandBuilder().setName('twice').setDescription('Acks twice'),
    ];
    await client.application!.commands.set(commands.map((c) => c.toJSON()));
    assert.deepEqual(
      fake.registeredCommands().map((c) => c.name),
      ['delegate', 'slow', 'twice'],
    );
    const bad = await client.rest
      .put(Routes.applicationCommands(fake.applicationId), { body: [{ name: 'Bad Name', description: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(bad instanceof DiscordAPIError);
    assert.equal(bad.code, 50035);
  });

  let replyMessageId = '';
  await t.test('slash command: deferReply within the deadline, then editReply', async () => {
    const handle = fake.sendSlashCommand({
      channelId,
      userId: alice.id,
      name: 'delegate',
      options: { agent: 'webster', prompt: 'ship it' },
    });
    const ack = await handle.acknowledged();
    assert.equal(ack.type, 5);
    assert.ok(ack.elapsedMs < 3000, `acked after ${ack.elapsedMs} ms`);
    const original = await handle.original();
    assert.equal(original.content, 'Delegating to webster: ship it');
    assert.deepEqual(original.allowedMentions, { parse: [] });
    assert.equal(original.loading, false);
    assert.equal(fake.originalResponse(handle.token)?.id, original.id);
    assert.deepEqual(seen.roles?.sort(), [guild.id, delegates.id].sort());
    assert.equal(seen.agent, 'webster');
    assert.ok(seen.permissions && BigInt(seen.permissions) > 0n);
    replyMessageId = original.id;
  });

  await t.test('autocomplete returns the choices the bot answered', async () => {
    const choices = await fake.sendAutocomplete({
      channelId,
      userId: alice.id,
      name: 'delegate',
      focused: 'agent',
      options: { agent: 'we' },
    });
    assert.deepEqual(choices, [{ name: 'webster', value: 'webster' }]);
  });

  await t.test('button click → UPDATE_MESSAGE', async () => {
    const handle = fake.clickButton({ messageId: replyMessageId, customId: 'approve:1', userId: alice.id });
    const ack = await handle.acknowledged();
    assert.equal(ack.type, 7);
    const msg = fake.message(replyMessageId)!;
    assert.equal(msg.content, 'Approved by alice');
    assert.deepEqual(msg.components, []);
  });

  await t.test('late ack → 10062, second ack → 40060', async () => {
    const slow = fake.sendSlashCommand({ channelId, userId: alice.id, name: 'slow' });
    // The bot's handler is parked on slowGate; move the fake clock past the 3 s deadline.
    fake.advanceClock(3500);
    slowGate.resolve();
    const err = await slowResult.promise;
    assert.ok(err instanceof DiscordAPIError);
    assert.equal(err.code, 10062);
    assert.equal(fake.interactionResponses(slow.id)[0]?.errorCode, 10062);

    const twice = fake.sendSlashCommand({ channelId, userId: alice.id, name: 'twice' });
    const second = await doubleAck.promise;
    assert.ok(second instanceof DiscordAPIError);
    assert.equal(second.code, 40060);
    assert.deepEqual(
      twice.callbacks.map((c) => c.status),
      [204, 400],
    );
    assert.equal(twice.originalMessage?.ephemeral, true);
  });

  const channel = client.channels.cache.get(channelId) as TextChannel;

  await t.test('channel message with an embed, echoed back over the gateway', async () => {
    const echoed = clientMessage(client, (m) => m.embeds[0]?.title === 'Status');
    const sent = await channel.send({
      embeds: [new EmbedBuilder().setTitle('Status').setDescription('All good')],
      allowedMentions: { parse: [] },
    });
    const stored = fake.message(sent.id)!;
    assert.equal(stored.embeds[0]?.description, 'All good');
    assert.deepEqual(stored.allowedMentions?.parse, []);
    assert.equal((await echoed).id, sent.id);
  });

  await t.test('6001-char embed → 50035 Invalid Form Body', async () => {
    const embed = {
      title: 't'.repeat(256),
      description: 'd'.repeat(4096),
      fields: [{ name: 'n'.repeat(256), value: 'v'.repeat(1024) }],
      footer: { text: 'f'.repeat(369) },
    };
    const err = await channel.send({ embeds: [embed] }).catch((e: unknown) => e);
    assert.ok(err instanceof DiscordAPIError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 50035);
    const raw = err.rawError as unknown as { errors: { embeds: { _errors: { code: string }[] } } };
    assert.equal(raw.errors.embeds._errors[0]?.code, 'MAX_EMBED_SIZE_EXCEEDED');
  });

  await t.test('429 then success: discord.js waits retry_after and retries', async () => {
    const fault = fake.failNext('POST /channels/:id/messages', { retryAfter: 0.2 });
    const since = fake.lastRequestSeq;
    const sent = await channel.send({ content: 'after a rate limit', allowedMentions: { parse: [] } });
    const attempts = fake.requests(
      (r) => r.seq > since && r.method === 'POST' && r.path === `/channels/${channelId}/messages`,
    );
    assert.deepEqual(
      attempts.map((r) => r.status),
      [429, 200],
    );
    assert.ok(attempts[1]!.time - attempts[0]!.time >= 200, 'retried after retry_after');
    assert.equal(fault.remaining, 0);
    assert.equal(fake.messagesIn(channelId).at(-1)?.id, sent.id);
  });

  await t.test('enforce_nonce dedups a retried create', async () => {
    const before = fake.messagesIn(channelId).length;
    const a = await channel.send({ content: 'once', nonce: 'run-42', enforceNonce: true });
    const b = await channel.send({ content: 'once', nonce: 'run-42', enforceNonce: true });
    assert.equal(a.id, b.id);
    assert.equal(fake.messagesIn(channelId).length, before + 1);
  });

  await t.test('uploads are stored and downloadable', async () => {
    const sent = await channel.send({ files: [{ attachment: Buffer.from('hello file'), name: 'note.txt' }] });
    const [att] = fake.message(sent.id)!.attachments;
    assert.equal(att?.filename, 'note.txt');
    assert.equal(fake.file(att!.id)?.text(), 'hello file');
    assert.equal(await (await fetch(att!.url)).text(), 'hello file');
  });

  await t.test('gateway drop → RESUME replays missed events; client keeps working', async () => {
    const resumed = fake.waitForResume();
    const gotMissed = clientMessage(client, (m) => m.content === 'sent while disconnected');
    assert.equal(fake.dropConnection({ code: 4000 }), 1);
    fake.postMessage({ channelId, authorId: alice.id, content: 'sent while disconnected' });
    const info = await resumed;
    assert.ok(info.replayed >= 1, 'missed event replayed');
    const missed = await gotMissed;
    assert.equal(missed.author.id, alice.id);
    assert.equal(fake.identifies.length, 1, 'resumed, not re-identified');

    // Member role change after the resume reaches the client cache.
    const updated = once(client, Events.GuildMemberUpdate);
    fake.updateMemberRoles(guild.id, alice.id, []);
    const [, after] = (await updated) as [unknown, { roles: { cache: Map<string, unknown> } }];
    assert.equal(after.roles.cache.has(delegates.id), false);

    const handle = fake.sendSlashCommand({
      channelId,
      userId: alice.id,
      name: 'delegate',
      options: { agent: 'wallace', prompt: 'again' },
    });
    assert.equal((await handle.original()).content, 'Delegating to wallace: again');
    assert.deepEqual(seen.roles, [guild.id]);
  });

  await t.test('client.destroy closes the gateway with 1000', async () => {
    const closed = fake.waitFor('gateway_close', (c) => c.by === 'client');
    await client.destroy();
    assert.equal((await closed).code, 1000);
    // Every message the bot sent had allowed_mentions.parse empty or none at all.
    for (const m of fake.botMessages()) {
      if (m.allowedMentions) assert.deepEqual(m.allowedMentions.parse ?? [], []);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Lower-level checks with a raw gateway client and plain fetch.

interface RawPayload {
  op: number;
  d: any;
  s: number | null;
  t: string | null;
}

/** Minimal gateway client: JSON or zlib-stream, with an awaitable payload queue. */
async function rawGateway(url: string, opts: { compress?: boolean } = {}) {
  const ws = new WebSocket(`${url}/?v=10&encoding=json${opts.compress ? '&compress=zlib-stream' : ''}`);
  const received: RawPayload[] = [];
  const waiting: { test: (p: RawPayload) => boolean; resolve: (p: RawPayload) => void }[] = [];
  const push = (p: RawPayload): void => {
    received.push(p);
    for (const w of [...waiting]) {
      if (w.test(p)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(p);
      }
    }
  };
  const inflate = createInflate();
  let pending = '';
  inflate.on('data', (chunk: Buffer) => (pending += chunk.toString('utf8')));
  let chain = Promise.resolve();
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return push(JSON.parse(data.toString('utf8')) as RawPayload);
    chain = chain.then(
      () =>
        new Promise<void>((resolve) => {
          inflate.write(data);
          inflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
            const text = pending;
            pending = '';
            push(JSON.parse(text) as RawPayload);
            resolve();
          });
        }),
    );
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
  await once(ws, 'open');
  return {
    ws,
    received,
    closed,
    send: (op: number, d: unknown) => ws.send(JSON.stringify({ op, d })),
    next: (test: (p: RawPayload) => boolean) =>
      new Promise<RawPayload>((resolve) => {
        const already = received.find(test);
        if (already) resolve(already);
        else waiting.push({ test, resolve });
      }),
  };
}

test('gateway protocol: zlib-stream, heartbeat ACK, READY shape, 4014, invalid resume', async (t) => {
  const fake = await FakeDiscord.start({ privilegedIntents: { messageContent: false } });
  t.after(() => fake.close());
  const guild = fake.createGuild({ name: 'HQ', channels: ['dl-webster'] });

  const gw = await rawGateway(fake.gatewayUrl, { compress: true });
  t.after(() => gw.ws.terminate());
  const hello = await gw.next((p) => p.op === 10);
  assert.equal(typeof hello.d.heartbeat_interval, 'number');
  gw.send(1, null);
  await gw.next((p) => p.op === 11);
  gw.send(2, {
    token: fake.token,
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
    properties: { os: 'linux' },
  });
  const readyPayload = await gw.next((p) => p.t === 'READY');
  assert.equal(readyPayload.s, 1);
  assert.equal(readyPayload.d.user.id, fake.botUser.id);
  assert.equal(readyPayload.d.resume_gateway_url, fake.gatewayUrl);
  assert.deepEqual(readyPayload.d.application, { id: fake.applicationId, flags: fake.options.applicationFlags });
  assert.deepEqual(readyPayload.d.guilds, [{ id: guild.id, unavailable: true }]);
  const guildCreate = await gw.next((p) => p.t === 'GUILD_CREATE');
  assert.equal(guildCreate.s, 2);
  assert.deepEqual(
    guildCreate.d.channels.map((c: { name: string }) => c.name),
    ['dl-webster'],
  );
  assert.deepEqual(
    guildCreate.d.members.map((m: { user: { id: string } }) => m.user.id),
    [fake.botUser.id],
  );

  // MESSAGE_CONTENT not requested: content of other users' messages is blanked.
  const alice = fake.createMember({ guildId: guild.id, username: 'alice' });
  fake.postMessage({ channelId: guild.channels['dl-webster']!, authorId: alice.id, content: 'secret' });
  const created = await gw.next((p) => p.t === 'MESSAGE_CREATE');
  assert.equal(created.d.content, '');
  assert.equal(created.d.member.roles.length, 0);

  // Privileged intent not enabled for the app → 4014.
  const denied = await rawGateway(fake.gatewayUrl);
  await denied.next((p) => p.op === 10);
  denied.send(2, { token: fake.token, intents: GatewayIntentBits.MessageContent, properties: {} });
  assert.equal(await denied.closed, 4014);

  // RESUME of an unknown session → op 9 d:false.
  const stale = await rawGateway(fake.gatewayUrl);
  t.after(() => stale.ws.terminate());
  await stale.next((p) => p.op === 10);
  stale.send(6, { token: fake.token, session_id: 'nope', seq: 1 });
  assert.equal((await stale.next((p) => p.op === 9)).d, false);

  // discord.js surfaces 4014 as a rejected login.
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.MessageContent],
    rest: { api: fake.apiBase },
  });
  t.after(() => client.destroy());
  await assert.rejects(client.login(fake.token), /disallowed intents/i);
});

test('REST semantics: validation, pagination, reactions, interactions, tokens, outage', async (t) => {
  const fake = await FakeDiscord.start();
  t.after(() => fake.close());
  const guild = fake.createGuild({ name: 'HQ', channels: ['dl-webster'] });
  const channelId = guild.channels['dl-webster']!;
  const alice = fake.createMember({ guildId: guild.id, username: 'alice' });

  const api = async (method: string, path: string, body?: unknown, auth = true) => {
    const res = await fetch(`${fake.apiBase}/v10${path}`, {
      method,
      headers: {
        ...(auth ? { Authorization: `Bot ${fake.token}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : undefined };
  };

  await t.test('error codes and nested 50035 paths', async () => {
    assert.equal((await api('POST', '/channels/1/messages', { content: 'x' })).body.code, 10003);
    assert.equal((await api('GET', `/channels/${channelId}/messages/1`)).body.code, 10008);
    const long = await api('POST', `/channels/${channelId}/messages`, { content: 'x'.repeat(2001) });
    assert.equal(long.status, 400);
    assert.equal(long.body.errors.content._errors[0].code, 'BASE_TYPE_MAX_LENGTH');
    const button = (i: number) => ({ type: 2, style: 1, label: `b${i}`, custom_id: `b${i}` });
    const wide = await api('POST', `/channels/${channelId}/messages`, {
      components: [{ type: 1, components: [0, 1, 2, 3, 4, 5].map(button) }],
    });
    assert.equal(wide.body.errors.components['0'].components._errors[0].code, 'BASE_TYPE_BAD_LENGTH');
    const id101 = await api('POST', `/channels/${channelId}/messages`, {
      components: [{ type: 1, components: [{ ...button(0), custom_id: 'c'.repeat(101) }] }],
    });
    assert.ok(id101.body.errors.components['0'].components['0'].custom_id);
    const embeds = await api('POST', `/channels/${channelId}/messages`, {
      embeds: [{ title: 't'.repeat(257), fields: Array(26).fill({ name: 'a', value: 'b' }) }],
    });
    assert.ok(embeds.body.errors.embeds['0'].title && embeds.body.errors.embeds['0'].fields);
    assert.equal((await api('POST', `/channels/${channelId}/messages`, {})).body.code, 50006);
    assert.equal(
      (await api('GET', `/channels/${channelId}/messages?limit=101`)).body.errors.limit._errors[0].code,
      'NUMBER_TYPE_MAX',
    );
  });

  await t.test('history pagination is newest first; reactions; rate limit headers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api('POST', `/channels/${channelId}/messages`, { content: `m${i}` });
      ids.push(res.body.id);
      assert.ok(res.headers.get('x-ratelimit-bucket'));
      assert.ok(res.headers.get('x-ratelimit-remaining'));
    }
    assert.deepEqual(
      (await api('GET', `/channels/${channelId}/messages?limit=2`)).body.map((m: { content: string }) => m.content),
      ['m4', 'm3'],
    );
    assert.deepEqual(
      (await api('GET', `/channels/${channelId}/messages?before=${ids[2]}`)).body.map(
        (m: { content: string }) => m.content,
      ),
      ['m1', 'm0'],
    );
    assert.deepEqual(
      (await api('GET', `/channels/${channelId}/messages?after=${ids[0]}&limit=2`)).body.map(
        (m: { content: string }) => m.content,
      ),
      ['m2', 'm1'],
    );
    assert.equal(
      (await api('PUT', `/channels/${channelId}/messages/${ids[4]}/reactions/${encodeURIComponent('✅')}/@me`)).status,
      204,
    );
    assert.equal(fake.message(ids[4]!)!.data.reactions?.[0]?.me, true);
    assert.equal(
      (await api('PUT', `/channels/${channelId}/messages/${ids[4]}/reactions/notanemoji/@me`)).body.code,
      10014,
    );
  });

  await t.test('user and webhook messages carry correct mentions', async () => {
    const msg = fake.postMessage({
      channelId,
      authorId: alice.id,
      content: `hey <@${fake.botUser.id}> and <@!${alice.id}>`,
    });
    assert.deepEqual(msg.data.mentions.map((u) => u.id).sort(), [fake.botUser.id, alice.id].sort());
    const hook = fake.postMessage({ channelId, webhook: { username: 'CI' }, content: `<@${alice.id}> build green` });
    assert.ok(hook.data.webhook_id);
    assert.equal(hook.data.author.bot, true);
    assert.deepEqual(
      hook.data.mentions.map((u) => u.id),
      [alice.id],
    );
  });

  await t.test('interactions: DM payload, attachments, followups, token expiry', async () => {
    const gw = await rawGateway(fake.gatewayUrl);
    t.after(() => gw.ws.terminate());
    await gw.next((p) => p.op === 10);
    gw.send(2, { token: fake.token, intents: GatewayIntentBits.Guilds, properties: {} });
    await gw.next((p) => p.t === 'READY');

    const dm = fake.sendSlashCommand({
      userId: alice.id,
      name: 'upload',
      options: { file: { attachment: { filename: 'spec.md', content: '# spec', contentType: 'text/markdown' } } },
    });
    const payload = (await gw.next((p) => p.t === 'INTERACTION_CREATE' && p.d.id === dm.id)).d;
    assert.equal(payload.user.id, alice.id);
    assert.equal(payload.member, undefined);
    assert.equal(payload.context, 1);
    assert.equal(payload.channel.type, 1);
    const attachmentId = payload.data.options[0].value;
    assert.equal(payload.data.resolved.attachments[attachmentId].filename, 'spec.md');
    assert.equal(await (await fetch(payload.data.resolved.attachments[attachmentId].url)).text(), '# spec');

    const cb = await fetch(`${fake.apiBase}/v10/interactions/${dm.id}/${dm.token}/callback?with_response=true`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 5 }),
    });
    assert.equal(cb.status, 200);
    assert.equal(((await cb.json()) as any).interaction.response_message_loading, true);
    // First followup after a defer fills in the "thinking…" message.
    const first = await api(
      'POST',
      `/webhooks/${fake.applicationId}/${dm.token}?wait=true`,
      { content: 'done' },
      false,
    );
    assert.equal(first.body.id, dm.originalMessage?.id);
    const second = await api(
      'POST',
      `/webhooks/${fake.applicationId}/${dm.token}?wait=true`,
      { content: 'more' },
      false,
    );
    assert.equal((await dm.followup(0)).id, second.body.id);
    fake.advanceClock(15 * 60_000 + 1);
    const expired = await api(
      'PATCH',
      `/webhooks/${fake.applicationId}/${dm.token}/messages/@original`,
      { content: 'x' },
      false,
    );
    assert.equal(expired.status, 401);
    assert.equal(expired.body.code, 50027);
  });

  await t.test('a followup after the deferred reply was deleted is a new message, not the deleted one', async () => {
    const dm = fake.sendSlashCommand({
      userId: alice.id,
      name: 'upload',
      options: { file: { attachment: { filename: 'a.md', content: 'a' } } },
    });
    const cb = await fetch(`${fake.apiBase}/v10/interactions/${dm.id}/${dm.token}/callback`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 5 }),
    });
    assert.equal(cb.status, 204);
    const deferred = dm.originalMessage!;
    assert.equal(deferred.loading, true);
    assert.equal(
      (await api('DELETE', `/webhooks/${fake.applicationId}/${dm.token}/messages/@original`, undefined, false)).status,
      204,
    );
    const followup = await api(
      'POST',
      `/webhooks/${fake.applicationId}/${dm.token}?wait=true`,
      { content: 'the answer' },
      false,
    );
    assert.equal(followup.status, 200);
    assert.notEqual(followup.body.id, deferred.id);
    assert.equal(followup.body.content, 'the answer');
    assert.equal((await dm.followup(0)).id, followup.body.id);
    assert.equal(fake.message(deferred.id)!.deleted, true, 'the deleted reply stays deleted');
  });

  await t.test(
    'fault injection after handling: the message exists though the answer was a 502; its nonce finds it again',
    async () => {
      const before = fake.messagesIn(channelId).length;
      fake.failNext(`POST /channels/${channelId}/messages`, { status: 502, afterHandling: true });
      const body = { content: 'exactly once', nonce: 'nonce-after-handling', enforce_nonce: true };
      assert.equal((await api('POST', `/channels/${channelId}/messages`, body)).status, 502);
      assert.equal(fake.messagesIn(channelId).length, before + 1, 'Discord created it all the same');
      const again = await api('POST', `/channels/${channelId}/messages`, body);
      assert.equal(again.status, 200);
      assert.equal(
        again.body.id,
        fake.messagesIn(channelId).at(-1)!.id,
        'the repeat is answered with the first message',
      );
      assert.equal(fake.messagesIn(channelId).length, before + 1);
    },
  );

  await t.test('fault injection: 502 once, then outage and recovery', async () => {
    fake.failNext('GET /users/@me', { status: 502 });
    assert.equal((await api('GET', '/users/@me')).status, 502);
    assert.equal((await api('GET', '/users/@me')).status, 200);
    fake.setDown(true);
    await assert.rejects(api('GET', '/users/@me'));
    fake.setDown(false);
    assert.equal((await api('GET', '/users/@me')).status, 200);
  });
});
