import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfigFile, REFERENCE_ACL } from '../src/config.ts';
import { ConfigError, ErrorCode } from '../src/errors.ts';

async function configFile(content: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hq-config-'));
  const file = path.join(dir, 'hq.json');
  await writeFile(file, content);
  return file;
}

test('no HQ_CONFIG and no ./hq-delegate.config.json gives every default, paths resolved to absolute', async (t) => {
  const cwd = process.cwd();
  process.chdir(await mkdtemp(path.join(tmpdir(), 'hq-config-cwd-')));
  t.after(() => process.chdir(cwd));
  const config = loadConfig({});
  assert.equal(config.engine.defaultTimeoutSeconds, 300);
  assert.equal(config.engine.sendTimeoutMs >= 20_000, true);
  assert.equal(config.operatorPrincipal, 'operator');
  assert.deepEqual(config.acl.manager, REFERENCE_ACL.manager);
  assert.equal(path.isAbsolute(config.paths.handoffDir), true);
  assert.equal(config.agents.webster?.port, 18828);
});

test('a file HQ_CONFIG names must exist: a typo or a missing mount is not "all defaults"', () => {
  assert.throws(
    () => loadConfig({ HQ_CONFIG: '/nonexistent/hq.json' }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, ErrorCode.CONFIG_INVALID);
      assert.match(
        error.message,
        /^\/nonexistent\/hq\.json: not found \(HQ_CONFIG names it; unset HQ_CONFIG to run on the defaults\)$/,
      );
      return true;
    },
  );
});

test('relative paths are resolved against the config file, not the working directory', async () => {
  const file = await configFile('{"paths":{"handoffDir":"h"}}');
  const config = parseConfigFile('{"paths":{"handoffDir":"h"}}', file);
  assert.equal(config.paths.handoffDir, path.join(path.dirname(file), 'h'));
});

test('a bad value names the file, the key and what was expected', async () => {
  const file = await configFile('{"engine":{"maxConcurrentPerAgent":0},"discord":{"guildId":"abc"}}');
  assert.throws(
    () => loadConfig({ HQ_CONFIG: file }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, ErrorCode.CONFIG_INVALID);
      assert.match(error.message, new RegExp(`${file}: engine\\.maxConcurrentPerAgent: .*>=1`));
      assert.match(error.message, /discord\.guildId: a Discord id/);
      return true;
    },
  );
});

test('an unknown key is refused rather than silently ignored', async () => {
  const file = await configFile('{"engine":{"retyPauseMs":10}}');
  assert.throws(() => loadConfig({ HQ_CONFIG: file }), /engine: Unrecognized key: "retyPauseMs"/);
});

test('invalid JSON is reported with the file name', async () => {
  const file = await configFile('{"engine":');
  assert.throws(() => loadConfig({ HQ_CONFIG: file }), new RegExp(`${file}: not valid JSON`));
});

test('a log level typo stops start-up', () => {
  assert.throws(() => loadConfig({ HQ_CONFIG: '/nonexistent.json', LOG_LEVEL: 'verbose' }), /environment: LOG_LEVEL/);
});

test('a per-agent hooks token wins over the shared one, and no token appears in an error', async () => {
  const config = loadConfig({
    HQ_CONFIG: await configFile('{}'),
    HQ_HOOKS_TOKEN: 'shared-secret',
    HQ_HOOKS_TOKEN_TECH_LEAD: 'tech-lead-secret',
  });
  assert.equal(config.secrets.hooksToken('tech-lead'), 'tech-lead-secret');
  assert.equal(config.secrets.hooksToken('webster'), 'shared-secret');
  const file = await configFile('{"ops":{"port":"x"}}');
  try {
    loadConfig({ HQ_CONFIG: file, HQ_HOOKS_TOKEN: 'shared-secret', DISCORD_TOKEN: 'discord-secret' });
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /secret/);
  }
});

test('store.retentionDays defaults to 30, takes 0 to keep every run, and a bad value names the file and key', async () => {
  assert.equal(parseConfigFile('{}', '/x/hq.json').store.retentionDays, 30);
  assert.equal(parseConfigFile('{"store":{"retentionDays":0}}', '/x/hq.json').store.retentionDays, 0);
  for (const bad of ['-1', '1.5', '"30"']) {
    const file = await configFile(`{"store":{"retentionDays":${bad}}}`);
    assert.throws(
      () => loadConfig({ HQ_CONFIG: file }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, ErrorCode.CONFIG_INVALID);
        assert.match(error.message, new RegExp(`^${file}: store\\.retentionDays: `));
        return true;
      },
    );
  }
  const file = await configFile('{"store":{"retentionDay":30}}');
  assert.throws(() => loadConfig({ HQ_CONFIG: file }), /store: Unrecognized key: "retentionDay"/);
});

test('an agents entry takes url, ca (beside the config), agentId, sessionKey; contradictions are refused', () => {
  const entry = { url: 'https://gw.example:18789', ca: 'ca.pem', agentId: 'webster', sessionKey: true };
  const config = parseConfigFile(JSON.stringify({ agents: { webster: entry } }), '/etc/hq/hq.json');
  assert.deepEqual(config.agents.webster, { ...entry, ca: '/etc/hq/ca.pem' });
  const refused =
    (agents: unknown): (() => unknown) =>
    () =>
      parseConfigFile(JSON.stringify({ agents }), '/x/hq.json');
  assert.throws(refused({ webster: { url: 'https://gw.example', port: 1 } }), /agents\.webster: give either url/);
  assert.throws(refused({ webster: { url: 'http://gw.example', ca: 'ca.pem' } }), /ca needs an https:\/\/ url/);
  assert.throws(refused({ webster: { url: 'https://gw.example/hooks' } }), /agents\.webster\.url: an http/);
  assert.throws(refused({ webster: { host: 'gw.example' } }), /needs a url, or a port/);
  assert.throws(
    refused({ webster: { port: 18_800 }, manager: { url: 'http://127.0.0.1:18800' } }),
    /agents: agents 'webster' and 'manager' share the address http:\/\/127\.0\.0\.1:18800/,
  );
});

test('store.kind defaults to sqlite; postgres needs a URL without a password, and a change needs a restart', () => {
  assert.deepEqual(parseConfigFile('{}', '/x/hq.json').store, { retentionDays: 30, kind: 'sqlite' });
  const url = 'postgres://hq@db.internal:5432/hq';
  assert.deepEqual(parseConfigFile(JSON.stringify({ store: { kind: 'postgres', url } }), '/x/hq.json').store, {
    retentionDays: 30,
    kind: 'postgres',
    url,
  });
  assert.throws(() => parseConfigFile('{"store":{"kind":"postgres"}}', '/x/hq.json'), /store\.url/);
  const secret = 's3cret-in-url';
  assert.throws(
    () =>
      parseConfigFile(
        JSON.stringify({ store: { kind: 'postgres', url: `postgres://hq:${secret}@db/hq` } }),
        '/x/hq.json',
      ),
    (error: unknown) =>
      error instanceof ConfigError && /HQ_STORE_PASSWORD/.test(error.message) && !error.message.includes(secret),
  );
  assert.throws(() => parseConfigFile('{"store":{"kind":"mysql"}}', '/x/hq.json'), ConfigError);
});

test('lease.ttlSeconds defaults to 10, retryMs is optional, and a bad value names the key', () => {
  assert.deepEqual(parseConfigFile('{}', '/x/hq.json').lease, { ttlSeconds: 10 });
  assert.deepEqual(parseConfigFile('{"lease":{"ttlSeconds":4,"retryMs":250}}', '/x/hq.json').lease, {
    ttlSeconds: 4,
    retryMs: 250,
  });
  assert.throws(
    () => parseConfigFile('{"lease":{"ttlSeconds":0}}', '/x/hq.json'),
    /\/x\/hq\.json: lease\.ttlSeconds: /,
  );
  assert.throws(() => parseConfigFile('{"lease":{"ttl":4}}', '/x/hq.json'), /lease: Unrecognized key: "ttl"/);
});
