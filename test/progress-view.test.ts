import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { ButtonStyle } from 'discord.js';
import type { RunProgress, RunResult } from '../src/engine/types.ts';
import { MAX_CUSTOM_ID, MAX_MESSAGE_CONTENT } from '../src/discord/render/limits.ts';
import { cancelCustomId, createProgressThrottle, renderProgress } from '../src/discord/render/progress-view.ts';
import type { ProgressView } from '../src/discord/render/progress-view.ts';

const RUN = 'orch-1767225600-a1b2c3d4';
const T0 = 1_767_225_600_000;

function view(state: ProgressView['state'], extra: Partial<ProgressView> = {}): ProgressView {
  return { runId: RUN, agent: 'webster', state, startedAt: T0, now: T0 + 15_000, ...extra };
}

function firstLine(state: ProgressView['state'], extra: Partial<ProgressView> = {}): string {
  return renderProgress(view(state, extra)).content.split('\n')[0] ?? '';
}

test('each progress state reads as one plain sentence', () => {
  assert.equal(firstLine('accepted'), '📥 accepted for webster');
  assert.equal(firstLine({ type: 'queued', runId: RUN, position: 2 }), '⏳ queued for webster (position 2)');
  assert.equal(firstLine({ type: 'queued', runId: RUN, position: 0 }), '🚀 starting on webster: checking its health');
  assert.equal(firstLine({ type: 'sent', runId: RUN, attempt: 1, maxAttempts: 3 }), '📨 sent to webster (attempt 1/3)');
  assert.equal(
    firstLine({
      type: 'waiting',
      runId: RUN,
      attempt: 1,
      maxAttempts: 3,
      startedAt: T0 + 3_000,
      deadline: T0 + 303_000,
    }),
    '⌛ waiting for webster — 12 s (attempt 1/3; gives up in 4 min 48 s)',
  );
  assert.equal(
    firstLine({ type: 'handoff_seen', runId: RUN, attempt: 2 }),
    '📄 handoff from webster received, checking it (attempt 2)',
  );
  assert.equal(
    firstLine({ type: 'retrying', runId: RUN, attempt: 2, maxAttempts: 3, reason: 'timeout' }),
    '🔁 retrying (attempt 2 of 3): timeout',
  );
});

test('the done state says how the run ended and how long it took', () => {
  const done = (status: RunResult['status']): RunProgress => ({
    type: 'done',
    runId: RUN,
    result: { status, result: '', runId: RUN, agent: 'webster', latencyMs: 65_000, attempts: 2 },
  });
  assert.equal(firstLine(done('complete')), '✅ done: complete after 1 min 05 s, 2 attempts');
  assert.equal(firstLine(done('timeout')), '⌛ finished: timed out after 1 min 05 s, 2 attempts');
});

test('a run that is not done carries a Cancel button; a done run carries none', () => {
  const running = renderProgress(view({ type: 'sent', runId: RUN, attempt: 1, maxAttempts: 1 }));
  const button = running.components[0]?.components[0];
  assert.equal(button?.custom_id, `cancel:${RUN}`);
  assert.equal(button?.style, ButtonStyle.Danger);
  const done = renderProgress(
    view({
      type: 'done',
      runId: RUN,
      result: { status: 'complete', result: 'x', runId: RUN, agent: 'webster', latencyMs: 1, attempts: 1 },
    }),
  );
  assert.deepEqual(done.components, [], 'an empty list removes the button when the message is edited');
});

test('a run id too long for a custom_id gets no Cancel button rather than an invalid one', () => {
  const long = `r${'x'.repeat(120)}`;
  assert.equal(cancelCustomId(long), undefined);
  assert.deepEqual(renderProgress(view('accepted', { runId: long })).components, []);
  assert.ok((cancelCustomId(RUN) ?? '').length <= MAX_CUSTOM_ID);
});

test('a resumed run says so, and the subtext names the run, the requester and the time since acceptance', () => {
  const { content } = renderProgress(
    view('accepted', { resumed: true, requesterId: '123456789012345678', now: T0 + 75_000 }),
  );
  const lines = content.split('\n');
  assert.equal(lines[0], '🔄 resumed after restart');
  assert.equal(lines[2], `-# run \`${RUN}\` · requested by <@123456789012345678> · 1 min 15 s since accepted`);
});

test('hostile reasons and names cannot push the content past 2000 characters or inject markdown', () => {
  const { content } = renderProgress(
    view(
      { type: 'retrying', runId: RUN, attempt: 2, maxAttempts: 3, reason: `**bold**\n${'😀'.repeat(30_000)}` },
      { agent: `we_b_ster${'x'.repeat(5_000)}` },
    ),
  );
  assert.ok(content.length <= MAX_MESSAGE_CONTENT);
  assert.ok(content.isWellFormed());
  assert.match(content, /\\\*\\\*bold\\\*\\\*/);
  const queued = renderProgress(
    view({ type: 'queued', runId: RUN, position: 1 }, { agent: `we_b_ster${'x'.repeat(5_000)}` }),
  ).content;
  assert.ok(queued.length <= MAX_MESSAGE_CONTENT);
  assert.match(queued, /we\\_b\\_ster/);
});

/** Lets the throttle's promise callbacks run; no wall-clock waiting. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await nextTurn();
}

test('many pushes at once become one immediate edit and one final edit with the latest payload', async () => {
  const edits: number[] = [];
  const throttle = createProgressThrottle<number>({ intervalMs: 50, edit: async (n) => void edits.push(n) });
  for (let i = 1; i <= 100; i += 1) throttle.push(i);
  await throttle.flush();
  assert.deepEqual(edits, [1, 100]);
});

test('pushes over time are coalesced to at most one edit per interval, the final state delivered', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const starts: number[] = [];
  const payloads: number[] = [];
  const throttle = createProgressThrottle<number>({
    intervalMs: 100,
    edit: async (n) => {
      starts.push(Date.now());
      payloads.push(n);
    },
  });
  const pushes = 100;
  const every = 10;
  for (let i = 1; i <= pushes; i += 1) {
    throttle.push(i);
    t.mock.timers.tick(every);
    await settle();
  }
  await throttle.flush();
  const duration = pushes * every;
  assert.ok(payloads.length <= Math.ceil(duration / 100) + 1, `${payloads.length} edits for ${duration} ms`);
  assert.ok(payloads.length >= 5, 'progress is shown while the run goes on, not only at the end');
  assert.equal(payloads.at(-1), pushes);
  for (let i = 1; i < starts.length - 1; i += 1) {
    assert.ok((starts[i] ?? 0) - (starts[i - 1] ?? 0) >= 100, `edits ${i - 1} and ${i} closer than the interval`);
  }
  assert.deepEqual(
    [...payloads].sort((a, b) => a - b),
    payloads,
    'never an older state after a newer one',
  );
});

test('a second edit never starts while the first is in flight', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const calls: string[] = [];
  const releases: (() => void)[] = [];
  const throttle = createProgressThrottle<string>({
    intervalMs: 10,
    edit: (payload) => {
      calls.push(payload);
      return new Promise<void>((resolve) => releases.push(resolve));
    },
  });
  throttle.push('a');
  assert.deepEqual(calls, ['a']);
  throttle.push('b');
  throttle.push('c');
  t.mock.timers.tick(1_000);
  await settle();
  assert.deepEqual(calls, ['a'], 'still waiting for the first edit');
  releases.shift()?.();
  await settle();
  assert.deepEqual(calls, ['a', 'c'], 'then the latest state, skipping b');
  const flushed = throttle.flush();
  releases.shift()?.();
  await flushed;
  assert.deepEqual(calls, ['a', 'c']);
});

test('flush sends the pending state at once instead of waiting out the interval', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const calls: string[] = [];
  const throttle = createProgressThrottle<string>({ intervalMs: 60_000, edit: async (p) => void calls.push(p) });
  throttle.push('first');
  await settle();
  throttle.push('final');
  await throttle.flush();
  assert.deepEqual(calls, ['first', 'final']);
  await throttle.flush();
  assert.deepEqual(calls, ['first', 'final'], 'nothing pending: flush sends nothing');
});

test('nothing is edited after stop', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const calls: string[] = [];
  const throttle = createProgressThrottle<string>({ intervalMs: 100, edit: async (p) => void calls.push(p) });
  throttle.push('a');
  await settle();
  throttle.push('b');
  throttle.stop();
  t.mock.timers.tick(1_000);
  throttle.push('c');
  await throttle.flush();
  assert.deepEqual(calls, ['a']);
});

test('a failing edit is reported through onError and the throttle keeps going', async () => {
  const errors: unknown[] = [];
  const calls: string[] = [];
  const throttle = createProgressThrottle<string>({
    intervalMs: 1,
    edit: async (p) => {
      calls.push(p);
      if (p === 'a') throw new Error('Unknown Message');
    },
    onError: (error) => errors.push(error),
  });
  throttle.push('a');
  await throttle.flush();
  throttle.push('b');
  await throttle.flush();
  assert.deepEqual(calls, ['a', 'b']);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /Unknown Message/);
});

test('an edit that throws synchronously, or an onError that throws, does not escape', async () => {
  const throttle = createProgressThrottle<string>({
    intervalMs: 1,
    edit: () => {
      throw new Error('sync');
    },
    onError: () => {
      throw new Error('reporter broke');
    },
  });
  throttle.push('a');
  await throttle.flush();
});
