import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigFile, type Config } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { assertHotReloadable, liveConfig } from '../src/live-config.ts';

function config(file: object): Config {
  const parsed = parseConfigFile(JSON.stringify(file), '/etc/hq/hq.json');
  return {
    ...parsed,
    configPath: '/etc/hq/hq.json',
    logLevel: 'info',
    secrets: { discordToken: undefined, hooksToken: () => undefined },
  };
}

test('store.retentionDays is hot: an edit is accepted and the live view reads the new value', () => {
  const running = config({ store: { retentionDays: 30 } });
  const next = config({ store: { retentionDays: 7 } });
  assert.doesNotThrow(() => assertHotReloadable(running, next));
  let current = running;
  const view = liveConfig(running, () => current);
  current = next;
  assert.equal(view.store.retentionDays, 7);
});

test('a restart-only key is still refused naming the file and key', () => {
  const running = config({});
  assert.throws(
    () => assertHotReloadable(running, config({ ops: { port: 9_999 } })),
    (error: unknown) =>
      error instanceof ConfigError &&
      /^\/etc\/hq\/hq\.json: ops: changed, but it is read only at start-up/.test(error.message),
  );
});

test('store.kind and store.url are read at start-up only', () => {
  const running = config({});
  const next = config({ store: { kind: 'postgres', url: 'postgres://hq@db/hq' } });
  assert.throws(() => assertHotReloadable(running, next), /store\.kind: changed, but it is read only at start-up/);
});

test('the lease timings are read only at start-up', () => {
  assert.throws(
    () => assertHotReloadable(config({}), config({ lease: { ttlSeconds: 5 } })),
    (error: unknown) => error instanceof ConfigError && /: lease: changed, but it is read only/.test(error.message),
  );
});
