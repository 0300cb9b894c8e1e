import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunResult } from '../src/engine/types.ts';
import { MAX_MESSAGE_CONTENT } from '../src/discord/render/limits.ts';
import { renderMachineBlock } from '../src/discord/render/reply-block.ts';

const URL = 'https://discord.com/channels/100000000000000000/500000000000000000/600000000000000000';

function result(overrides: Record<string, unknown> = {}): RunResult {
  return {
    schemaVersion: '1.1',
    status: 'complete',
    result: 'The answer is 42.',
    notes: 'checked twice',
    runId: 'orch-1767225600-a1b2c3d4',
    agent: 'webster',
    latencyMs: 12_345,
    attempts: 1,
    confidence: 'high',
    ...overrides,
  };
}

/** The JSON inside the block, parsed; fails the test when the block is not exactly one json fence. */
function parse(block: string): Record<string, unknown> {
  const match = /^```json\n([\s\S]*)\n```$/.exec(block);
  assert.ok(match?.[1] !== undefined, `not a json block: ${block.slice(0, 80)}`);
  assert.ok(!match[1].includes('`'), 'no backtick inside the fence');
  return JSON.parse(match[1]) as Record<string, unknown>;
}

test('a small result comes back whole in the CLI shape with resultUrl, in the CLI key order', () => {
  const block = renderMachineBlock(result(), URL);
  const json = parse(block);
  assert.deepEqual(json, { ...result(), resultUrl: URL });
  assert.deepEqual(Object.keys(json), [
    'status',
    'result',
    'notes',
    'runId',
    'agent',
    'latencyMs',
    'attempts',
    'schemaVersion',
    'confidence',
    'resultUrl',
  ]);
  assert.equal(parse(block).truncated, undefined);
});

test('without a result message url the key is simply absent', () => {
  assert.equal(parse(renderMachineBlock(result())).resultUrl, undefined);
});

test('a 50 KB result is cut to fit 2000 characters and the JSON stays valid and says so', () => {
  const big = 'line with "quotes", \\ backslashes and\nnewlines 😀 '.repeat(1_000);
  const block = renderMachineBlock(result({ result: big }), URL);
  assert.ok(block.length <= MAX_MESSAGE_CONTENT, `${block.length}`);
  assert.ok(block.length > MAX_MESSAGE_CONTENT - 60, 'the room is used, not wasted');
  const json = parse(block);
  assert.equal(json.truncated, true);
  assert.equal(json.resultChars, big.length);
  assert.equal(json.resultUrl, URL);
  assert.equal(json.runId, 'orch-1767225600-a1b2c3d4');
  assert.ok(typeof json.result === 'string' && big.startsWith(json.result));
  assert.ok((json.result as string).isWellFormed(), 'no split surrogate pair');
});

test('backticks in the result cannot close the fence', () => {
  const text = '```\n} fake: "json"\n```';
  const block = renderMachineBlock(result({ result: text }));
  assert.equal(parse(block).result, text);
});

test('an object result that is too large becomes a prefix of its JSON text', () => {
  const object = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`field${i}`, 'v'.repeat(200)]));
  const block = renderMachineBlock(result({ result: object }), URL);
  assert.ok(block.length <= MAX_MESSAGE_CONTENT);
  const json = parse(block);
  assert.equal(json.truncated, true);
  assert.ok(typeof json.result === 'string' && JSON.stringify(object).startsWith(json.result));
});

test('large extra fields are left out and named, long notes are shortened', () => {
  const block = renderMachineBlock(
    result({ artifacts: Array.from({ length: 100 }, (_, i) => `file-${i}.md`), notes: 'n'.repeat(5_000) }),
    URL,
  );
  assert.ok(block.length <= MAX_MESSAGE_CONTENT);
  const json = parse(block);
  assert.deepEqual(json.omitted, ['artifacts']);
  assert.equal((json.notes as string).length, 500);
  assert.equal(json.confidence, 'high', 'small extras stay');
});

test('even absurd inputs fit a tiny budget with valid JSON', () => {
  const block = renderMachineBlock(
    result({ runId: 'r'.repeat(128), agent: 'a'.repeat(32), result: 'x'.repeat(10_000) }),
    URL,
    200,
  );
  assert.ok(block.length <= 200);
  assert.equal(parse(block).truncated, true);
});
