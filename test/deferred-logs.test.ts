/**
 * The CLI's deferred logger and event log (src/cli/deferred-logs.ts): what is logged before
 * pino is loaded is written once it is, in order, with the time it was logged at.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createDeferredLogs } from '../src/cli/deferred-logs.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import { createLogger } from '../src/log.ts';
import { tempDir } from './fakes/engine-harness.ts';

const T0 = Date.parse('2026-11-25T10:00:00.000Z');

function realWriters(logs: ReturnType<typeof createDeferredLogs>, dir: string) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', now: logs.clock, destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const eventLog = createEventLog({ dir, now: () => new Date(logs.clock()) });
  return { log, eventLog, lines };
}

test('lines logged before pino is attached are written after, in order, each at the time it was logged', async (t) => {
  const dir = await tempDir(t);
  let now = T0;
  const logs = createDeferredLogs({ now: () => now });
  const child = logs.log.child({ runId: 'r-1' });
  logs.log.info({ agent: 'webster' }, 'run accepted');
  now += 1_000;
  child.warn('the gateway was slow');
  logs.eventLog.write({ runId: 'r-1', agent: 'webster', event: 'attempt_start', detail: 'task' });
  let flushed = false;
  logs.log.flush(() => {
    flushed = true;
  });
  child.debug({ attempt: 1 }, 'sent');
  assert.equal(logs.attached(), false);
  assert.deepEqual(await readdir(dir), [], 'nothing is written before pino is there');

  now += 60_000;
  const real = realWriters(logs, dir);
  logs.attach(real);
  assert.equal(logs.attached(), true);
  assert.deepEqual(
    real.lines.map((line) => [line.time, line.level, line.runId, line.msg]),
    [
      [T0, 30, undefined, 'run accepted'],
      [T0 + 1_000, 40, 'r-1', 'the gateway was slow'],
      [T0 + 1_000, 20, 'r-1', 'sent'],
    ],
  );
  assert.equal(real.lines[0]?.agent, 'webster');
  assert.equal(real.lines[2]?.attempt, 1);
  assert.equal(flushed, true, 'a flush asked for before attach is done at attach');

  // From now on everything goes straight through, at the time of the call.
  now += 5_000;
  child.info('handoff seen');
  logs.log.child({ runId: 'r-2' }).error('late');
  logs.eventLog.write({ runId: 'r-1', agent: 'webster', event: 'complete', detail: 'complete' });
  logs.eventLog.close();
  assert.deepEqual(
    real.lines.slice(3).map((line) => [line.time, line.runId, line.msg]),
    [
      [T0 + 66_000, 'r-1', 'handoff seen'],
      [T0 + 66_000, 'r-2', 'late'],
    ],
  );
  const events = (await readFile(path.join(dir, '2026-11-25.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(
    events.map((event) => [event.timestamp, event.event]),
    [
      ['2026-11-25T10:00:01Z', 'attempt_start'],
      ['2026-11-25T10:01:06Z', 'complete'],
    ],
  );
});

test('an event log closed before attach gets its held lines first, then the close', async (t) => {
  const dir = await tempDir(t);
  const logs = createDeferredLogs({ now: () => T0 });
  logs.eventLog.write({ runId: 'r-1', agent: 'webster', event: 'acl_denied', detail: 'caller=intern' });
  logs.eventLog.close();
  const real = realWriters(logs, dir);
  let closed = false;
  logs.attach({ log: real.log, eventLog: { write: (entry) => real.eventLog.write(entry), close: () => ((closed = true), real.eventLog.close()) } });
  assert.equal(closed, true);
  assert.match(await readFile(path.join(dir, '2026-11-25.jsonl'), 'utf8'), /^\{"timestamp":"2026-11-25T10:00:00Z","runId":"r-1","agent":"webster","event":"acl_denied"/);
  assert.throws(() => logs.attach(real), /attached already/);
});
