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

test('the registry file is read first, then the fallback map', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeFile(
    registryPath,
    JSON.stringify({
      agents: { webster: { port: 19_000, role: 'research' }, scout: { port: 19_001, host: '10.0.0.5' } },
    }),
  );
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK });
  assert.deepEqual(registry.resolve('webster'), { name: 'webster', host: '127.0.0.1', port: 19_000 });
  assert.deepEqual(registry.resolve('scout'), { name: 'scout', host: '10.0.0.5', port: 19_001 });
  assert.deepEqual(registry.resolve('auditor'), { name: 'auditor', host: '127.0.0.1', port: 18_812, deliver: false });
  assert.deepEqual(
    registry
      .list()
      .map((agent) => agent.name)
      .sort(),
    ['auditor', 'scout', 'webster'],
  );
});

test('an unknown agent throws UnknownAgentError listing the known ones', async (t) => {
  const dir = await tempDir(t);
  const registry = createAgentRegistry({ registryPath: path.join(dir, 'missing.json'), fallback: FALLBACK });
  assert.throws(() => registry.resolve('ghost'), {
    code: 'HQ_ERR_AGENT_UNKNOWN',
    message: "Unknown agent 'ghost'. Known agents: auditor, webster",
  });
});

test('a broken registry is logged and the fallback map used, never a crash', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeFile(registryPath, '{"agents": {"webster": {"port": 1');
  const captured = captureLog();
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK, log: captured.log });
  assert.equal(registry.resolve('webster').port, 18_828);
  assert.equal(registry.resolve('webster').port, 18_828);
  assert.equal(
    captured.lines.filter((line) => line.includes('agent registry is not valid')).length,
    1,
    'logged once per version of the file',
  );
  await writeFile(registryPath, JSON.stringify({ agents: { webster: { port: 'high' }, 'Bad Name': { port: 1 } } }));
  utimesSync(registryPath, new Date(), new Date(Date.now() + 5_000));
  assert.equal(registry.resolve('webster').port, 18_828, 'a bad entry falls back');
  assert.equal(captured.lines.filter((line) => line.includes('entry ignored')).length, 2);
});

test('an edit of the registry applies to the next lookup', async (t) => {
  const dir = await tempDir(t);
  const registryPath = path.join(dir, 'AGENTS_REGISTRY.json');
  await writeFile(registryPath, JSON.stringify({ agents: { webster: { port: 19_000 } } }));
  const registry = createAgentRegistry({ registryPath, fallback: FALLBACK });
  assert.equal(registry.resolve('webster').port, 19_000);
  await writeFile(registryPath, JSON.stringify({ agents: { webster: { port: 19_500 } } }));
  utimesSync(registryPath, new Date(), new Date(Date.now() + 10_000));
  assert.equal(registry.resolve('webster').port, 19_500);
});
