import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startProcessWorld } from './support/bot-process.ts';
import { privateAnswer } from './support/bot-world.ts';

const LONG = 30_000;

test(
  'config hot reload in the running bot: bad edits are refused naming file and key, a good one applies to the next command',
  { timeout: 90_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'valid' } } });
    const { fake, channels, users } = world;
    const bot = await world.start();
    const askAsErin = () =>
      fake.sendSlashCommand({
        channelId: channels.general!,
        userId: users.erin,
        name: 'delegate',
        options: { agent: 'webster', task: 'draft the notes' },
      });

    // erin acts as secretary, whose ACL row is empty.
    assert.match((await privateAnswer(world, askAsErin().id, LONG)).content, /You may not delegate to webster/);

    const refused = (key: string) => (line: { level?: number; msg?: string; file?: unknown }) =>
      line.level === 50 &&
      line.file === world.configPath &&
      String(line.msg).startsWith('config change refused') &&
      String(line.msg).includes(key);
    const good = world.configFile();
    await world.writeConfig(
      JSON.stringify({ ...good, discord: { ...(good.discord as object), progressEditIntervalMs: 5 } }),
    );
    const invalid = await bot.waitForLog(refused('discord.progressEditIntervalMs'));
    assert.ok(String(invalid.msg).includes(world.configPath), 'the line names the file');
    await world.writeConfig(
      JSON.stringify({ ...good, engine: { ...(good.engine as object), defaultTimeoutSeconds: 30 } }),
    );
    await bot.waitForLog(refused('engine: changed, but it is read only at start-up'));
    assert.match(
      (await privateAnswer(world, askAsErin().id, LONG)).content,
      /You may not delegate to webster/,
      'the last good config stays in force',
    );

    await world.writeConfig(
      JSON.stringify({ ...good, acl: { ...(good.acl as object), secretary: ['webster'] } }, null, 2),
    );
    await bot.waitForLog((line) => line.msg === 'config reloaded');
    const allowed = askAsErin();
    const embed = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: LONG });
    await allowed.original((m) => m.content.includes(embed.id), LONG);
    assert.equal((await bot.stop()).code, 0);
  },
);
