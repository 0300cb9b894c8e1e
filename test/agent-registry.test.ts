import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createAgentRegistry } from '../src/engine/agent-registry.ts';
import { captureLog, tempDir } from './fakes/engine-harness.ts';

const FALLBACK = {
  webster: { port: 18_828, host: '127.0.0.1' },
  auditor: { port: 18_812, host: '127.0.0.1', deliver: false },
};
const LIMIT = 262_144;

/** Writes the registry and moves its mtime on, so the next lookup sees a new version. */
async function writeRegistry(registryPath: string, value: unknown, bump = 0): Promise<void> {
  await writeFile(registryPath, typeof value === 'string' ? value : JSON.stringify(value));
  if (bump > 0) utimesSync(registryPath, new Date(), new Date(Date.now() + bump));
}

test('the registry file is read first, then the fallback map', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeRegistry(registryPath, {
    agents: { webster: { port: 19_000, role: 'research' }, scout: { port: 19_001, host: '10.0.0.5' } },
  });
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK });
  const plain = { sessionKey: false, maxBodyBytes: LIMIT };
  assert.deepEqual(registry.resolve('webster'), { name: 'webster', url: 'http://127.0.0.1:19000', ...plain });
  assert.deepEqual(registry.resolve('scout'), { name: 'scout', url: 'http://10.0.0.5:19001', ...plain });
  assert.deepEqual(registry.resolve('auditor'), {
    name: 'auditor',
    url: 'http://127.0.0.1:18812',
    deliver: false,
    ...plain,
  });
  assert.deepEqual(
    registry
      .list()
      .map((agent) => agent.name)
      .sort(),
    ['auditor', 'scout', 'webster'],
  );
});

test('an entry takes url, ca (beside the registry), agentId, sessionKey and maxBodyBytes', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeRegistry(registryPath, {
    agents: {
      webster: {
        url: 'https://gw.example.net:18789',
        ca: 'certs/ca.pem',
        agentId: 'webster',
        sessionKey: true,
        maxBodyBytes: 131_072,
      },
      scout: { url: 'https://gw.example.net', agentId: 'scout' },
    },
  });
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK });
  assert.deepEqual(registry.resolve('webster'), {
    name: 'webster',
    url: 'https://gw.example.net:18789',
    ca: path.join(dir, 'certs', 'ca.pem'),
    agentId: 'webster',
    sessionKey: true,
    maxBodyBytes: 131_072,
  });
  assert.equal(registry.resolve('scout').url, 'https://gw.example.net');
});

test('an unknown agent throws UnknownAgentError listing the known ones', async (t) => {
  const dir = await tempDir(t);
  const registry = createAgentRegistry({ registryPath: path.join(dir, 'missing.json'), fallback: FALLBACK });
  assert.throws(() => registry.resolve('ghost'), {
    code: 'HQ_ERR_AGENT_UNKNOWN',
    message: "Unknown agent 'ghost'. Known agents: auditor, webster",
  });
});

test('a bad edit is refused whole, logged once with the file and the entry, and the last good stays', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeRegistry(registryPath, { agents: { webster: { port: 19_000 }, scout: { port: 19_001 } } });
  const captured = captureLog();
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK, log: captured.log });
  assert.equal(registry.resolve('webster').url, 'http://127.0.0.1:19000');

  const badEdits: [unknown, RegExp][] = [
    [{ agents: { webster: { port: 'abc' }, scout: { port: 19_555 } } }, /entry "webster": port: /],
    [{ agents: { webster: { port: 19_000, sessionKey: 'yes' }, scout: { port: 19_555 } } }, /"webster": sessionKey/],
    [{ agents: { webster: { url: 'ftp://10.0.0.9:21' }, scout: { port: 19_555 } } }, /"webster": url: an http/],
    [{ agents: { webster: { url: 'http://10.0.0.9:1', ca: 'ca.pem' } } }, /ca needs an https:\/\/ url/],
    [{ agents: { webster: { url: 'http://10.0.0.9:1', port: 2 } } }, /either url, or host and port/],
    [{ agents: { 'Bad Name': { port: 1 }, scout: { port: 19_555 } } }, /entry "Bad Name": not an agent name/],
    ['{"agents": {"webster": {"port": 1', /AGENTS_REGISTRY\.json is not valid JSON/],
  ];
  for (const [index, [edit, reason]] of badEdits.entries()) {
    await writeRegistry(registryPath, edit, 5_000 * (index + 1));
    assert.equal(registry.resolve('webster').url, 'http://127.0.0.1:19000', `edit ${index}: the last good stays`);
    assert.equal(registry.resolve('scout').url, 'http://127.0.0.1:19001', `edit ${index}: refused whole`);
    const refusals = captured.lines.filter((line) => line.includes('agent registry edit refused'));
    assert.equal(refusals.length, index + 1, 'logged once per version of the file');
    const logged = JSON.parse(refusals.at(-1) ?? '{}') as { registryPath: string; reason: string };
    assert.match(logged.reason, reason);
    assert.equal(logged.registryPath, registryPath);
  }

  await writeRegistry(registryPath, { agents: { webster: { port: 19_500 } } }, 60_000);
  assert.equal(registry.resolve('webster').url, 'http://127.0.0.1:19500', 'a good edit applies again');
});

test('an agent a refused registry names is misconfigured, never routed through the config map', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  // The config map has webster too: the bug was to fall back to it when the entry was bad.
  await writeRegistry(registryPath, { agents: { webster: { port: 'abc' } } });
  const captured = captureLog();
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK, log: captured.log });
  assert.throws(() => registry.resolve('webster'), {
    code: 'HQ_ERR_AGENT_MISCONFIGURED',
    message: /^Agent 'webster' is misconfigured, so nothing was sent: .*AGENTS_REGISTRY\.json: entry "webster": port/,
  });
  assert.equal(registry.resolve('auditor').url, 'http://127.0.0.1:18812', 'an agent it does not name: config map');
  assert.deepEqual(
    registry.list().map((agent) => agent.name),
    ['auditor'],
  );

  // Not even JSON, and no good version before it: no agent can be told apart, so none is routed.
  await writeRegistry(registryPath, '{"agents": ', 5_000);
  assert.throws(() => registry.resolve('auditor'), { code: 'HQ_ERR_AGENT_MISCONFIGURED' });
  assert.equal(captured.lines.filter((line) => line.includes('agents it names are misconfigured')).length, 2);
});

test('a registry that would put two agents at one address is refused', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeRegistry(registryPath, { agents: { webster: { port: 19_000 } } });
  const captured = captureLog();
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK, log: captured.log });
  assert.equal(registry.resolve('webster').url, 'http://127.0.0.1:19000');
  // webster pointed at auditor's gateway (from the config map): auditor would get webster's task.
  await writeRegistry(registryPath, { agents: { webster: { port: 18_812 } } }, 5_000);
  assert.equal(registry.resolve('webster').url, 'http://127.0.0.1:19000');
  assert.match(
    captured.lines.find((line) => line.includes('edit refused')) ?? '',
    /agents 'webster' and 'auditor' would share the address http:\/\/127\.0\.0\.1:18812/,
  );
  // One gateway hosting both is fine when each is named by its agentId.
  await writeRegistry(
    registryPath,
    {
      agents: {
        webster: { url: 'http://127.0.0.1:18812', agentId: 'webster' },
        auditor: { url: 'http://127.0.0.1:18812', agentId: 'auditor' },
      },
    },
    10_000,
  );
  assert.equal(registry.resolve('webster').agentId, 'webster');
  assert.equal(registry.resolve('auditor').agentId, 'auditor');
});

test('an edit of the registry applies to the next lookup', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeRegistry(registryPath, { agents: { webster: { port: 19_000 } } });
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK });
  assert.equal(registry.resolve('webster').url, 'http://127.0.0.1:19000');
  await writeRegistry(registryPath, { agents: { webster: { port: 19_500 } } }, 10_000);
  assert.equal(registry.resolve('webster').url, 'http://127.0.0.1:19500');
});
