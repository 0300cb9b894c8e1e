import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCommands } from '../commands/index.ts';
import { loadCommandsFrom } from '../src/discord/command-loader.ts';
import { registerCommands } from '../src/discord/register-commands.ts';
import { FakeDiscord } from './fakes/fake-discord/index.ts';
import { configFileSchema } from '../src/config.ts';

test('the loader keeps every module whose default export is a Command and says why it skipped the others', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hq-commands-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = "export default { data: { name: 'ping', description: 'Pong' }, async execute() {} };";
  await writeFile(path.join(dir, 'ping.ts'), good);
  await writeFile(path.join(dir, 'again.ts'), good);
  await writeFile(path.join(dir, 'no-execute.ts'), "export default { data: { name: 'broken', description: 'x' } };");
  await writeFile(
    path.join(dir, 'Upper.ts'),
    "export default { data: { name: 'Upper', description: 'x' }, async execute() {} };",
  );
  await writeFile(path.join(dir, 'index.ts'), 'throw new Error("the index is not a command and is never imported");');
  const { commands, skipped } = await loadCommandsFrom(dir);
  assert.deepEqual([...commands.keys()], ['ping']);
  assert.deepEqual(skipped.map((s) => s.file).sort(), ['Upper.ts', 'no-execute.ts', 'ping.ts']);
  assert.match(skipped.find((s) => s.file === 'ping.ts')!.reason, /already loaded/);
});

test('the real commands/ folder loads /delegate with its autocomplete and its Cancel and Retry buttons', async () => {
  const { commands, skipped } = await loadCommands();
  assert.deepEqual(skipped, []);
  const delegate = commands.get('delegate');
  assert.ok(delegate?.autocomplete);
  assert.deepEqual(Object.keys(delegate.buttons ?? {}).sort(), ['cancel', 'retry']);
  const options = delegate.data.options ?? [];
  assert.deepEqual(
    options.map((o) => o.name),
    [
      'agent',
      'task',
      'context_messages',
      'context_channel',
      'context_file',
      'retries',
      'timeout',
      'strict',
      'context_required',
    ],
  );
});

test('deploy-commands registers guild-scoped with discord.guildId and globally without, from the same loader', async (t) => {
  const fake = await FakeDiscord.start();
  t.after(() => fake.close());
  const guild = fake.createGuild({ name: 'HQ' });
  const { commands } = await loadCommands();
  const names = [...commands.keys()].sort();

  const scoped = await registerCommands(
    { discord: configFileSchema.shape.discord.parse({ apiBase: fake.apiBase, guildId: guild.id }) },
    fake.token,
    commands,
  );
  assert.equal(scoped.scope, 'guild');
  assert.equal(scoped.applicationId, fake.applicationId);
  assert.deepEqual(
    fake
      .registeredCommands(guild.id)
      .map((c) => c.name)
      .sort(),
    names,
  );
  assert.equal(fake.registeredCommands().length, 0);

  const global = await registerCommands(
    { discord: configFileSchema.shape.discord.parse({ apiBase: fake.apiBase }) },
    fake.token,
    commands,
  );
  assert.equal(global.scope, 'global');
  assert.deepEqual(
    fake
      .registeredCommands()
      .map((c) => c.name)
      .sort(),
    names,
  );
});
