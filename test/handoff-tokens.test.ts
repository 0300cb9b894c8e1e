import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test, type TestContext } from 'node:test';
import { parseConfigFile } from '../src/config.ts';
import { createAgentRegistry } from '../src/engine/agent-registry.ts';
import {
  createMemoryTokenStore,
  hashToken,
  issueToken,
  matchToken,
  type HandoffTokenStore,
} from '../src/engine/handoff-tokens.ts';
import { ConfigError } from '../src/errors.ts';
import { createFailureThrottle } from '../src/handoffs/failure-throttle.ts';
import { APPLICATION_ID, SCHEMA_DDL, SCHEMA_VERSION } from '../src/store/schema.ts';
import { createRunStore } from '../src/store/run-store.ts';
import { tempDir } from './fakes/engine-harness.ts';
import { journalRun, tempFile } from './support/run-store-fixtures.ts';
import { storeBackends } from './support/store-backends.ts';
import { asAsyncStore } from '../src/store/sqlite-async.ts';

function tokenSuite(name: string, make: (t: TestContext) => Promise<HandoffTokenStore>): void {
  test(`${name}: a token is single-use, bound to its run, and stored only as its hash`, async (t) => {
    const store = await make(t);
    const token = await issueToken(store, 'run-a', 1);
    const other = await issueToken(store, 'run-b', 1);
    assert.ok(Buffer.from(token, 'base64url').length >= 16, 'at least 128 random bits');
    assert.deepEqual(await store.tokenHashes('run-a'), [{ tokenHash: hashToken(token), used: false }]);
    assert.deepEqual(
      await matchToken(store, 'run-a', other),
      { kind: 'mismatch' },
      "run b's token is no good for run a",
    );
    assert.deepEqual(await matchToken(store, 'run-a', undefined), { kind: 'mismatch' });
    assert.deepEqual(await matchToken(store, 'run-c', token), { kind: 'no-tokens' });
    assert.equal(await store.consumeToken('run-a', hashToken(token)), true);
    assert.equal(await store.consumeToken('run-a', hashToken(token)), false, 'used once only');
    assert.deepEqual(await matchToken(store, 'run-a', token), {
      kind: 'match',
      tokenHash: hashToken(token),
      used: true,
    });
    assert.equal((await store.tokenHashes('run-b'))[0]?.used, false, 'the other run is untouched');
  });
}

tokenSuite('in memory', async () => createMemoryTokenStore());

// The same verbs through the async store, on both backends (the engine awaits them once converted).
for (const backend of storeBackends()) {
  test(
    `the ${backend.name} store: a token is single-use, bound to its run, stored only as its hash`,
    { skip: backend.skip },
    async (t) => {
      const store = await (await backend.fresh(t)).open();
      for (const runId of ['run-a', 'run-b']) await store.runAccepted(journalRun(runId));
      await store.tokenIssued('run-a', 1, hashToken('token-a'));
      await store.tokenIssued('run-a', 1, hashToken('token-a'));
      await store.tokenIssued('run-b', 1, hashToken('token-b'));
      assert.deepEqual(await store.tokenHashes('run-a'), [{ tokenHash: hashToken('token-a'), used: false }]);
      assert.deepEqual(await store.tokenHashes('run-c'), []);
      assert.equal(
        await store.consumeToken('run-a', hashToken('token-b')),
        false,
        "run b's token is no good for run a",
      );
      assert.equal(await store.consumeToken('run-a', hashToken('token-a')), true);
      assert.equal(await store.consumeToken('run-a', hashToken('token-a')), false, 'used once only');
      assert.deepEqual(await store.tokenHashes('run-a'), [{ tokenHash: hashToken('token-a'), used: true }]);
      assert.equal((await store.tokenHashes('run-b'))[0]?.used, false, 'the other run is untouched');
      const raced = await Promise.all([1, 2, 3].map(() => store.consumeToken('run-b', hashToken('token-b'))));
      assert.equal(raced.filter(Boolean).length, 1, 'of PUTs racing with one token, one wins');
    },
  );
}
tokenSuite('in the run store', async (t) => {
  const store = createRunStore(await tempFile(t));
  t.after(() => store.close());
  for (const runId of ['run-a', 'run-b']) store.runAccepted(journalRun(runId));
  return asAsyncStore(store);
});

test('a version 1 run store is migrated: its runs kept, the handoff_tokens table added', async (t) => {
  const file = await tempFile(t);
  mkdirSync(path.dirname(file), { recursive: true });
  const raw = new DatabaseSync(file);
  raw.exec(SCHEMA_DDL);
  raw.exec(`PRAGMA application_id = ${APPLICATION_ID}; PRAGMA user_version = 1`);
  raw.exec(`INSERT INTO runs (run_id, agent, status, accepted_at) VALUES ('old-run', 'webster', 'running', 1)`);
  raw.close();

  const store = createRunStore(file);
  t.after(() => store.close());
  assert.equal(store.getRun('old-run')?.status, 'running');
  store.tokenIssued('old-run', 1, hashToken('t'));
  assert.equal(store.tokenHashes('old-run').length, 1);
  const check = new DatabaseSync(file);
  t.after(() => check.close());
  assert.equal(check.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
  assert.equal(SCHEMA_VERSION, 5);
});

test('handoffListener is off unless configured; publicUrl must be http(s) and loses its trailing slash', () => {
  assert.equal(parseConfigFile('{}', 'c.json').handoffListener, undefined);
  const listener = { port: 8443, publicUrl: 'https://hq.example.net/' };
  assert.deepEqual(parseConfigFile(JSON.stringify({ handoffListener: listener }), 'c.json').handoffListener, {
    host: '127.0.0.1',
    port: 8443,
    publicUrl: 'https://hq.example.net',
    trustProxy: false,
  });
  assert.throws(
    () => parseConfigFile(JSON.stringify({ handoffListener: { port: 1, publicUrl: 'ftp://x' } }), 'c.json'),
    (error: unknown) => error instanceof ConfigError && /handoffListener\.publicUrl/.test(error.message),
  );
  assert.throws(
    () => parseConfigFile(JSON.stringify({ agents: { webster: { port: 1, handoff: 'mail' } } }), 'c.json'),
    /agents\.webster\.handoff/,
  );
});

test('an agent takes handoff "http" from the registry or the config; default is the file', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  writeFileSync(
    registryPath,
    JSON.stringify({ agents: { webster: { port: 1, handoff: 'http' }, plain: { port: 2 } } }),
  );
  const registry = createAgentRegistry({ registryPath, fallback: { manager: { port: 3, handoff: 'http' } } });
  assert.equal(registry.resolve('webster').handoff, 'http');
  assert.equal(registry.resolve('manager').handoff, 'http');
  assert.equal(registry.resolve('plain').handoff, undefined);
});

test('the throttle refuses an address after 20 failures in a minute, until the oldest ages out', () => {
  let now = 1_000_000;
  const throttle = createFailureThrottle({ now: () => now });
  for (let i = 0; i < 20; i += 1) {
    assert.equal(throttle.retryAfterSeconds('a'), 0);
    throttle.recordFailure('a');
    now += 1_000;
  }
  assert.equal(throttle.retryAfterSeconds('a'), 40);
  assert.equal(throttle.retryAfterSeconds('b'), 0, 'another address is not affected');
  now += 40_000;
  assert.equal(throttle.retryAfterSeconds('a'), 0);
});
