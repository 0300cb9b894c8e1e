import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.ts';

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { stream, lines };
}

test('tokens and authorization headers never reach a log line', () => {
  const { stream, lines } = capture();
  const log = createLogger({ level: 'info', destination: stream as never });
  log.info({ token: 'tok-1', headers: { authorization: 'Bearer tok-2', 'x-openclaw-token': 'tok-3' } }, 'sending');
  log.info({ request: { headers: { authorization: 'Bearer tok-4' } }, secrets: { discordToken: 'tok-5' } }, 'nested');
  log.child({ runId: 'r1' }).warn({ discordToken: 'tok-6', hooksToken: 'tok-7' }, 'child');
  const text = lines.join('');
  assert.equal(lines.length, 3);
  for (const secret of ['tok-1', 'tok-2', 'tok-3', 'tok-4', 'tok-5', 'tok-6', 'tok-7']) {
    assert.equal(text.includes(secret), false, `${secret} leaked`);
  }
  assert.match(text, /\[redacted\]/);
});
