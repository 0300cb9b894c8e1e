import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FakeDiscord, Intents, PRIVILEGED_INTENTS } from './fakes/fake-discord/index.ts';

/** What `npm start` and the image run: the plain-JS entry that enables the compile cache, then main.ts. */
const MAIN = path.resolve(import.meta.dirname, '../src/main.mjs');

async function run(t: { after(fn: () => unknown): void }, env: Record<string, string>) {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'hq-main-'));
  t.after(() => rm(cwd, { recursive: true, force: true }));
  const { DISCORD_TOKEN: _token, HQ_CONFIG: _config, ...inherited } = process.env;
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { ...inherited, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, cwd, exited, stderr: () => stderr };
}

test('without DISCORD_TOKEN the bot prints one line saying what to do and exits 1', async (t) => {
  const { exited, stderr } = await run(t, {});
  assert.equal(await exited, 1);
  assert.equal(stderr(), 'DISCORD_TOKEN is not set: copy .env.example to .env and set it (see README)\n');
});

test('main connects through the configured apiBase with Guilds and GuildMessages only, and exits 0 on SIGTERM', async (t) => {
  const fake = await FakeDiscord.start({ heartbeatIntervalMs: 30_000 });
  t.after(() => fake.close());
  fake.createGuild({ name: 'HQ', channels: ['general'] });
  const config = await mkdtemp(path.join(os.tmpdir(), 'hq-main-config-'));
  t.after(() => rm(config, { recursive: true, force: true }));
  const file = path.join(config, 'hq-delegate.config.json');
  await writeFile(
    file,
    JSON.stringify({
      paths: { handoffDir: './handoffs', logDir: './logs', stateDir: './state' },
      agents: {},
      discord: { apiBase: fake.apiBase },
      ops: { port: 0 },
    }),
  );

  const ready = fake.waitForReady({ timeoutMs: 15_000 });
  const { child, exited, stderr } = await run(t, { DISCORD_TOKEN: fake.token, HQ_CONFIG: file });
  await ready;
  const identify = fake.identifies.at(-1);
  assert.ok(identify, 'the bot identified');
  assert.equal(identify.intents & PRIVILEGED_INTENTS, 0, 'no privileged intent is requested');
  assert.equal(identify.intents, Intents.Guilds | Intents.GuildMessages | Intents.DirectMessages);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr());
});
