import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createEventLog, truncateDetail } from '../src/engine/event-log.ts';
import { tempDir } from './fakes/engine-harness.ts';

test('each event is one JSON line with the reference fields first, extras after, and no pino fields', async (t) => {
  const dir = await tempDir(t);
  const log = createEventLog({ dir, now: () => new Date('2026-11-25T10:11:12.345Z') });
  log.write({
    runId: 'run-1',
    agent: 'webster',
    event: 'complete',
    detail: 'complete',
    attempt: 2,
    elapsedMs: 1234.6,
    extra: { confidence: 'high', gatewayRunId: 'hook-run-9', missing: undefined },
  });
  log.write({ runId: 'run-1', agent: 'webster', event: 'attempt_start' });
  log.close();
  assert.deepEqual(await readdir(dir), ['2026-11-25.jsonl']);
  const lines = (await readFile(path.join(dir, '2026-11-25.jsonl'), 'utf8')).split('\n');
  assert.equal(lines.at(-1), '', 'newline-terminated');
  assert.equal(
    lines[0],
    '{"timestamp":"2026-11-25T10:11:12Z","runId":"run-1","agent":"webster","event":"complete","detail":"complete","attempt":2,"elapsedMs":1235,"confidence":"high","gatewayRunId":"hook-run-9"}',
  );
  assert.equal(
    lines[1],
    '{"timestamp":"2026-11-25T10:11:12Z","runId":"run-1","agent":"webster","event":"attempt_start","detail":"","attempt":1,"elapsedMs":0}',
  );
});

test('the file follows the UTC day: a new day opens a new file', async (t) => {
  const dir = await tempDir(t);
  let now = new Date('2026-11-25T23:59:59.900Z');
  const log = createEventLog({ dir, now: () => now });
  log.write({ runId: 'r', agent: 'a', event: 'queued' });
  now = new Date('2026-11-26T00:00:00.100Z');
  log.write({ runId: 'r', agent: 'a', event: 'cancelled' });
  log.close();
  assert.deepEqual((await readdir(dir)).sort(), ['2026-11-25.jsonl', '2026-11-26.jsonl']);
  assert.match(
    await readFile(path.join(dir, '2026-11-26.jsonl'), 'utf8'),
    /^\{"timestamp":"2026-11-26T00:00:00Z",.*"event":"cancelled"/,
  );
});

test('detail is cut to 500 characters without splitting a surrogate pair', () => {
  assert.equal(truncateDetail('x'.repeat(600)).length, 500);
  const emoji = truncateDetail('😀'.repeat(600));
  assert.equal(Array.from(emoji).length, 500);
  assert.ok(!/[\uD800-\uDBFF]$/.test(emoji));
});

test('a token-shaped field is redacted even if one were passed in by mistake', async (t) => {
  const dir = await tempDir(t);
  const log = createEventLog({ dir, now: () => new Date('2026-11-25T00:00:00Z') });
  log.write({
    runId: 'r',
    agent: 'a',
    event: 'send_error',
    extra: { token: 'secret-value-123', headers: { authorization: 'Bearer secret-value-123' } },
  });
  log.close();
  assert.ok(!(await readFile(path.join(dir, '2026-11-25.jsonl'), 'utf8')).includes('secret-value-123'));
});

test('every redact path still reaches a secret, whichever logger writes the line', async (t) => {
  const dir = await tempDir(t);
  const log = createEventLog({ dir, now: () => new Date('2026-11-25T00:00:00Z') });
  const secret = 'secret-value-456';
  const extras: Record<string, unknown>[] = [
    { token: secret },
    { hooksToken: secret },
    { discordToken: secret },
    { authorization: `Bearer ${secret}` },
    { secrets: { hooks: secret } },
    { request: { token: secret } },
    { request: { headers: { authorization: `Bearer ${secret}` } } },
    { headers: { 'x-openclaw-token': secret } },
  ];
  for (const extra of extras) log.write({ runId: 'r', agent: 'a', event: 'send_error', extra });
  log.write({
    runId: 'r',
    agent: 'a',
    event: 'complete',
    extra: { confidence: 'high', httpStatus: 200, gatewayRunId: null },
  });
  log.close();
  const lines = (await readFile(path.join(dir, '2026-11-25.jsonl'), 'utf8')).trimEnd().split('\n');
  assert.equal(lines.length, extras.length + 1);
  for (const line of lines) assert.ok(!line.includes(secret), line);
  assert.equal(
    lines.at(-1),
    '{"timestamp":"2026-11-25T00:00:00Z","runId":"r","agent":"a","event":"complete","detail":"","attempt":1,"elapsedMs":0,"confidence":"high","httpStatus":200,"gatewayRunId":null}',
  );
});
