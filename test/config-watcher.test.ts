import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once, EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigFile, type ConfigFile } from '../src/config.ts';
import { watchConfig } from '../src/config-watcher.ts';
import { createLogger } from '../src/log.ts';

/** Writes the way careful editors save: a whole new file renamed over the old, never a half-written one. */
async function replaceFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

interface Loaded {
  readonly config: ConfigFile;
  readonly registry: Record<string, unknown>;
}

/** Real files, a real loader (the project's own parser) and events to await instead of sleeps. */
async function setup(t: TestContext) {
  const dir = await mkdtemp(path.join(tmpdir(), 'hq-config-watcher-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const configPath = path.join(dir, 'hq-delegate.config.json');
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeFile(configPath, JSON.stringify({ engine: { defaultTimeoutSeconds: 300 } }));
  await writeFile(registryPath, JSON.stringify({ agents: { manager: { port: 18800 } } }));

  const events = new EventEmitter();
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level: 'debug',
    destination: {
      write(line: string) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        events.emit('log', entry);
      },
    },
  });
  const load = (): Loaded => ({
    config: parseConfigFile(readFileSync(configPath, 'utf8'), configPath),
    registry: JSON.parse(readFileSync(registryPath, 'utf8')) as Record<string, unknown>,
  });

  const applied: Loaded[] = [];
  const refused: Error[] = [];
  const watcher = await watchConfig({
    configPath,
    registryPath,
    load,
    onChange: (next) => {
      applied.push(next);
      events.emit('applied', next);
    },
    onRefused: (error) => {
      refused.push(error);
      events.emit('refused', error);
    },
    log,
    debounceMs: 20,
  });
  t.after(() => watcher.close());
  return { dir, configPath, registryPath, watcher, events, lines, applied, refused };
}

test('a good edit of the config file is applied', async (t) => {
  const { configPath, watcher, events, applied } = await setup(t);
  assert.equal(watcher.current().config.engine.defaultTimeoutSeconds, 300);
  const next = once(events, 'applied');
  await writeFile(configPath, JSON.stringify({ engine: { defaultTimeoutSeconds: 600 } }));
  const [config] = (await next) as [Loaded];
  assert.equal(config.config.engine.defaultTimeoutSeconds, 600);
  assert.equal(watcher.current().config.engine.defaultTimeoutSeconds, 600);
  assert.equal(applied.length, 1);
});

test('a bad edit is refused with one log line naming the file and key, and the last good config stays', async (t) => {
  const { configPath, watcher, events, lines, applied } = await setup(t);
  const refusal = once(events, 'refused');
  await replaceFile(configPath, JSON.stringify({ engine: { defaultTimeoutSeconds: 'soon' } }));
  await refusal;

  assert.equal(applied.length, 0);
  assert.equal(watcher.current().config.engine.defaultTimeoutSeconds, 300);
  const refusals = lines.filter((line) => String(line.msg).startsWith('config change refused'));
  assert.equal(refusals.length, 1);
  assert.equal(refusals[0]?.level, 50);
  assert.match(
    String(refusals[0]?.msg),
    new RegExp(`${configPath.replaceAll(/[.\\]/g, '\\$&')}: engine\\.defaultTimeoutSeconds`),
  );
  assert.equal(refusals[0]?.code, 'HQ_ERR_CONFIG_INVALID');

  // Fixing it applies the fix, and the broken version was logged only once along the way.
  const fixed = once(events, 'applied');
  await replaceFile(configPath, JSON.stringify({ engine: { defaultTimeoutSeconds: 900 } }));
  await fixed;
  assert.equal(watcher.current().config.engine.defaultTimeoutSeconds, 900);
  assert.equal(lines.filter((line) => String(line.msg).startsWith('config change refused')).length, 1);
});

test('a save by rename into place is seen', async (t) => {
  const { dir, configPath, watcher, events } = await setup(t);
  const next = once(events, 'applied');
  const temporary = path.join(dir, '.hq-delegate.config.json.swp');
  await writeFile(temporary, JSON.stringify({ engine: { defaultTimeoutSeconds: 42 } }));
  await rename(temporary, configPath);
  await next;
  assert.equal(watcher.current().config.engine.defaultTimeoutSeconds, 42);

  // And again: the watch did not stay on the replaced inode.
  const again = once(events, 'applied');
  await writeFile(temporary, JSON.stringify({ engine: { defaultTimeoutSeconds: 43 } }));
  await rename(temporary, configPath);
  await again;
  assert.equal(watcher.current().config.engine.defaultTimeoutSeconds, 43);
});

test('an edit of the agents registry reloads too, and a broken registry is refused', async (t) => {
  const { registryPath, watcher, events } = await setup(t);
  const next = once(events, 'applied');
  await writeFile(registryPath, JSON.stringify({ agents: { manager: { port: 18800 }, webster: { port: 18828 } } }));
  await next;
  assert.deepEqual(Object.keys((watcher.current().registry as { agents: object }).agents), ['manager', 'webster']);

  const refusal = once(events, 'refused');
  await writeFile(registryPath, '{"agents": ');
  const [error] = (await refusal) as [Error];
  assert.ok(error instanceof SyntaxError);
  assert.deepEqual(Object.keys((watcher.current().registry as { agents: object }).agents), ['manager', 'webster']);
});

test('a change the consumer rejects is refused like a bad edit', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hq-config-watcher-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const configPath = path.join(dir, 'config.json');
  const registryPath = path.join(dir, 'registry.json');
  await writeFile(configPath, '{"n": 1}');
  const events = new EventEmitter();
  const watcher = await watchConfig({
    configPath,
    registryPath,
    load: () => JSON.parse(readFileSync(configPath, 'utf8')) as { n: number },
    onChange: async (next) => {
      if (next.n > 1) throw new Error('n may not grow at run time');
    },
    onRefused: (error) => events.emit('refused', error),
    log: createLogger({ level: 'silent' }),
    debounceMs: 20,
  });
  t.after(() => watcher.close());
  const refusal = once(events, 'refused');
  await replaceFile(configPath, '{"n": 2}');
  const [error] = (await refusal) as [Error];
  assert.match(error.message, /may not grow/);
  assert.equal(watcher.current().n, 1);
});
