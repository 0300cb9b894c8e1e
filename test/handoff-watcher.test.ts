import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createHandoffWatcher } from '../src/engine/handoff-watcher.ts';
import { captureLog, tempDir } from './fakes/engine-harness.ts';

const VALID = { schemaVersion: '1.1', status: 'complete', result: 'ok' };

async function startWatcher(t: TestContext, options: { settleMs?: number; maxBytes?: number } = {}) {
  const dir = await tempDir(t, 'hq-watch-');
  const watcher = createHandoffWatcher({
    maxBytes: options.maxBytes ?? 1_024 * 1_024,
    settleMs: options.settleMs ?? 2_000,
    log: captureLog().log,
  });
  t.after(() => watcher.close());
  watcher.prepare(spot(dir, 'any'));
  return { dir, watcher };
}

/** Where a run named `name` waits in `dir`: `<dir>/<name>.json`. */
const spot = (dir: string, name: string) => ({ file: path.join(dir, `${name}.json`) });

const soon = (ms = 5_000): number => Date.now() + ms;

/** Writes through a temporary name and renames into place, as a careful agent would. */
async function writeAtomically(dir: string, name: string, text: string): Promise<void> {
  await writeFile(path.join(dir, `.${name}.tmp`), text);
  await rename(path.join(dir, `.${name}.tmp`), path.join(dir, name));
}

/** Counts this process's inotify watches (Linux): libuv keeps one inotify fd, one wd line per watch. */
function inotifyWatchCount(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    try {
      count += (readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/^inotify wd/gm) ?? []).length;
    } catch {
      // fd closed meanwhile
    }
  }
  return count;
}

test('a handoff renamed into place after the wait started is taken', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  const waiting = watcher.waitFor(spot(dir, 'run-a'), { deadline: soon() });
  await writeAtomically(dir, 'run-a.json', JSON.stringify(VALID));
  const result = await waiting;
  assert.equal(result.kind, 'handoff');
  assert.deepEqual(result.kind === 'handoff' && result.data, VALID);
});

test('a handoff already present when the wait starts is taken at once', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  await writeFile(path.join(dir, 'run-b.json'), JSON.stringify(VALID));
  const result = await watcher.waitFor(spot(dir, 'run-b'), { deadline: soon() });
  assert.equal(result.kind, 'handoff');
});

test('a half-written file completed 50 ms later is taken as valid, without waiting for the settle time', async (t) => {
  const { dir, watcher } = await startWatcher(t, { settleMs: 5_000 });
  const text = JSON.stringify(VALID);
  const started = Date.now();
  const waiting = watcher.waitFor(spot(dir, 'run-c'), { deadline: soon(10_000) });
  // The agent's write tool truncates and writes in place: the file exists empty, then half, then whole.
  const handle = await open(path.join(dir, 'run-c.json'), 'w');
  await handle.write(text.slice(0, 10));
  await delay(50);
  await handle.write(text.slice(10));
  await handle.close();
  const result = await waiting;
  assert.equal(result.kind, 'handoff');
  assert.deepEqual(result.kind === 'handoff' && result.data, VALID);
  assert.ok(Date.now() - started < 2_000, 'taken on the completing change, not after settleMs');
});

test('an empty file that is filled later is not judged on its first event', async (t) => {
  const { dir, watcher } = await startWatcher(t, { settleMs: 1_000 });
  const waiting = watcher.waitFor(spot(dir, 'run-d'), { deadline: soon() });
  await writeFile(path.join(dir, 'run-d.json'), '');
  await delay(30);
  await writeFile(path.join(dir, 'run-d.json'), JSON.stringify(VALID));
  assert.equal((await waiting).kind, 'handoff');
});

test('invalid JSON that stops changing is malformed, with its first 2000 characters kept', async (t) => {
  const { dir, watcher } = await startWatcher(t, { settleMs: 100 });
  const broken = `{"status": "complete", "result": ${'x'.repeat(3_000)}`;
  const waiting = watcher.waitFor(spot(dir, 'run-e'), { deadline: soon() });
  await writeFile(path.join(dir, 'run-e.json'), broken);
  const result = await waiting;
  assert.equal(result.kind, 'malformed');
  assert.equal(result.kind === 'malformed' && result.raw, broken.slice(0, 2_000));
});

test('a symlink to /etc/passwd named <run>.json is refused and never read', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  const waiting = watcher.waitFor(spot(dir, 'run-f'), { deadline: soon() });
  await symlink('/etc/passwd', path.join(dir, 'run-f.json'));
  const result = await waiting;
  assert.deepEqual(result, { kind: 'refused', reason: 'it is a symbolic link' });
  assert.deepEqual(await watcher.peek(spot(dir, 'run-f').file), { kind: 'refused', reason: 'it is a symbolic link' });
});

test('a 5 MiB file is refused by the size cap', async (t) => {
  const { dir, watcher } = await startWatcher(t, { maxBytes: 1_024 * 1_024 });
  await writeFile(path.join(dir, 'run-g.json'), Buffer.alloc(5 * 1_024 * 1_024, 0x20));
  const result = await watcher.waitFor(spot(dir, 'run-g'), { deadline: soon() });
  assert.equal(result.kind, 'refused');
  assert.match(result.kind === 'refused' ? result.reason : '', /larger than 1048576 bytes/);
});

test('a FIFO named <run>.json is refused without blocking', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  execFileSync('mkfifo', [path.join(dir, 'run-h.json')]);
  assert.deepEqual(await watcher.waitFor(spot(dir, 'run-h'), { deadline: soon() }), {
    kind: 'refused',
    reason: 'it is not a regular file',
  });
});

test('an unreadable file is a read error (checked as an unprivileged user)', async (t) => {
  const dir = await tempDir(t, 'hq-watch-');
  await chmod(dir, 0o755);
  // Unreadable from its creation: no moment where another user could read it.
  await writeFile(path.join(dir, 'run-i.json'), JSON.stringify(VALID), { mode: 0o000 });
  const script = `
    import { createHandoffWatcher } from ${JSON.stringify(path.resolve('src/engine/handoff-watcher.ts'))};
    import { createLogger } from ${JSON.stringify(path.resolve('src/log.ts'))};
    const watcher = createHandoffWatcher({ maxBytes: 1024, settleMs: 100, log: createLogger({ level: 'silent' }) });
    const result = await watcher.waitFor({ file: ${JSON.stringify(path.join(dir, 'run-i.json'))} }, { deadline: Date.now() + 5000 });
    await watcher.close();
    process.stdout.write(JSON.stringify(result));`;
  const asNobody = process.getuid?.() === 0 ? { uid: 65_534, gid: 65_534 } : {};
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    ...asNobody,
    encoding: 'utf8',
  });
  const result = JSON.parse(output) as { kind: string; message?: string };
  assert.equal(result.kind, 'read_error');
  assert.match(result.message ?? '', /EACCES/);
});

test('with no file the wait times out at its deadline', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  const started = Date.now();
  assert.deepEqual(await watcher.waitFor(spot(dir, 'run-j'), { deadline: Date.now() + 150 }), { kind: 'timeout' });
  assert.ok(Date.now() - started >= 140);
  assert.equal(watcher.waiting(), 0);
});

test('an aborted wait resolves at once and leaves nothing registered', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  const controller = new AbortController();
  const waiting = watcher.waitFor(spot(dir, 'run-k'), { deadline: soon(60_000), signal: controller.signal });
  assert.equal(watcher.waiting(), 1);
  controller.abort();
  assert.deepEqual(await waiting, { kind: 'aborted' });
  assert.equal(watcher.waiting(), 0);
});

test('200 runs wait at once on one watcher and all are resolved', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  const watchesBefore = inotifyWatchCount();
  const ids = Array.from({ length: 200 }, (_, index) => `many-${index}`);
  const waits = ids.map((id) => watcher.waitFor(spot(dir, id), { deadline: soon(15_000) }));
  assert.equal(watcher.waiting(), 200);
  assert.equal(inotifyWatchCount(), watchesBefore, 'no watch per waiting run');
  assert.equal(watcher.stats().watches, 1, 'one watch for the directory');
  await Promise.all(
    ids.map((id, index) =>
      index % 2 === 0
        ? writeAtomically(dir, `${id}.json`, JSON.stringify({ ...VALID, id }))
        : writeFile(path.join(dir, `${id}.json`), JSON.stringify({ ...VALID, id })),
    ),
  );
  const results = await Promise.all(waits);
  results.forEach((result, index) => {
    assert.equal(result.kind, 'handoff');
    assert.equal(result.kind === 'handoff' && (result.data as { id: string }).id, ids[index]);
  });
  assert.equal(watcher.waiting(), 0);
  assert.equal(inotifyWatchCount(), watchesBefore);
});

test("a burst of 200 handoffs renamed in is dispatched from the watch's events, each file read once", async (t) => {
  // Every read below comes from an event or the look at registration.
  const { dir, watcher } = await startWatcher(t);
  const ids = Array.from({ length: 200 }, (_, index) => `burst-${index}`);
  const waits = ids.map((id) => watcher.waitFor(spot(dir, id), { deadline: soon(15_000) }));
  const before = watcher.stats();
  await Promise.all(ids.map((id) => writeAtomically(dir, `${id}.json`, JSON.stringify({ ...VALID, id }))));
  const results = await Promise.all(waits);
  results.forEach((result, index) =>
    assert.equal(result.kind === 'handoff' && (result.data as { id: string }).id, ids[index]),
  );
  const after = watcher.stats();
  assert.ok(
    after.events - before.events >= ids.length,
    `an event per renamed file (saw ${after.events - before.events})`,
  );
  // Any second event for the same file finds the run already resolved.
  assert.equal(after.reads, ids.length, 'one read per file');
  assert.equal(watcher.waiting(), 0);
});

test('a file written in place in 40 small writes is taken whole, and read at most once per write', async (t) => {
  const { dir, watcher } = await startWatcher(t, { settleMs: 5_000 });
  const text = JSON.stringify({ ...VALID, result: 'x'.repeat(4_000) });
  const waiting = watcher.waitFor(spot(dir, 'run-s'), { deadline: soon(10_000) });
  const handle = await open(path.join(dir, 'run-s.json'), 'w');
  const CHUNKS = 40;
  const size = Math.ceil(text.length / CHUNKS);
  for (let offset = 0; offset < text.length; offset += size) await handle.write(text.slice(offset, offset + size));
  await handle.close();
  const result = await waiting;
  assert.equal(result.kind, 'handoff');
  assert.equal(result.kind === 'handoff' && result.raw, text);
  // The watch's events mark the file due; it is read once per turn of the loop however
  // many events came: at most once per write, plus the open's own event and the first look.
  assert.ok(watcher.stats().reads <= CHUNKS + 2, `reads: ${watcher.stats().reads}`);
});

test('a handoff written in 20 pieces before the loop turns is read once, not once per event', async (t) => {
  const { dir, watcher } = await startWatcher(t, { settleMs: 5_000 });
  const text = JSON.stringify({ ...VALID, result: 'y'.repeat(2_000) });
  const waiting = watcher.waitFor(spot(dir, 'run-u'), { deadline: soon(10_000) });
  // Created, written in 20 pieces and closed before the loop turns: ~22 events, all due at once.
  const fd = openSync(path.join(dir, 'run-u.json'), 'w');
  for (let offset = 0; offset < text.length; offset += 100) writeSync(fd, text.slice(offset, offset + 100));
  closeSync(fd);
  const result = await waiting;
  assert.equal(result.kind === 'handoff' && result.raw, text);
  assert.equal(watcher.stats().reads, 1);
});

test('moving a handoff aside never overwrites an earlier one', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  const file = path.join(dir, 'run-m.json');
  for (const generation of [1, 2, 3]) {
    await writeFile(file, `generation ${generation}`);
    await watcher.moveAside(file);
  }
  assert.equal(await watcher.moveAside(file), undefined, 'nothing to move');
  assert.deepEqual((await readdir(dir)).sort(), ['run-m.prev.1.json', 'run-m.prev.2.json', 'run-m.prev.json']);
  assert.equal(await readFile(path.join(dir, 'run-m.prev.json'), 'utf8'), 'generation 1');
  assert.equal(await readFile(path.join(dir, 'run-m.prev.1.json'), 'utf8'), 'generation 2');
  assert.equal(await readFile(path.join(dir, 'run-m.prev.2.json'), 'utf8'), 'generation 3');
});

test('peek reads what is there now: absent, a handoff, or malformed text', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  assert.deepEqual(await watcher.peek(spot(dir, 'run-p').file), { kind: 'absent' });
  await writeFile(path.join(dir, 'run-p.json'), JSON.stringify(VALID));
  assert.equal((await watcher.peek(spot(dir, 'run-p').file)).kind, 'handoff');
  await writeFile(path.join(dir, 'run-p.json'), '{"status": "comp');
  assert.deepEqual(await watcher.peek(spot(dir, 'run-p').file), { kind: 'malformed', raw: '{"status": "comp' });
});

test('files in a subdirectory or with another suffix do not wake a waiting run', async (t) => {
  const { dir, watcher } = await startWatcher(t);
  const waiting = watcher.waitFor(spot(dir, 'run-q'), { deadline: Date.now() + 300 });
  await mkdir(path.join(dir, 'sub'));
  await writeFile(path.join(dir, 'sub', 'run-q.json'), JSON.stringify(VALID));
  await writeFile(path.join(dir, 'run-q.json.tmp'), JSON.stringify(VALID));
  assert.deepEqual(await waiting, { kind: 'timeout' });
});

test('the directory is watched from the first wait, once however many wait, until close', async (t) => {
  const dir = await tempDir(t, 'hq-watch-');
  const watcher = createHandoffWatcher({ maxBytes: 1_024, settleMs: 100, log: captureLog().log });
  t.after(() => watcher.close());
  assert.equal(watcher.stats().watches, 0, 'nothing watched before a wait');
  const waits = ['run-v', 'run-w'].map((id) => watcher.waitFor(spot(dir, id), { deadline: soon(60_000) }));
  assert.equal(watcher.stats().watches, 1);
  await watcher.close();
  assert.equal(watcher.stats().watches, 0);
  assert.deepEqual(await Promise.all(waits), [{ kind: 'aborted' }, { kind: 'aborted' }]);
});

test('closing the watcher ends every wait as aborted', async (t) => {
  const dir = await tempDir(t, 'hq-watch-');
  const watcher = createHandoffWatcher({ maxBytes: 1_024, settleMs: 100, log: captureLog().log });
  const waiting = watcher.waitFor(spot(dir, 'run-r'), { deadline: soon(60_000) });
  await watcher.close();
  assert.deepEqual(await waiting, { kind: 'aborted' });
});

test('a polled directory is looked at every interval, with no file watch, and only at waited-for names', async (t) => {
  const dir = await tempDir(t, 'hq-poll-');
  const watcher = createHandoffWatcher({ maxBytes: 1_024 * 1_024, settleMs: 2_000, log: captureLog().log });
  t.after(() => watcher.close());
  const watchesBefore = inotifyWatchCount();
  const polled = { file: path.join(dir, 'run-poll.json'), pollIntervalMs: 100 };
  watcher.prepare(polled);
  assert.deepEqual([watcher.stats().watches, watcher.stats().polls], [0, 1]);
  assert.equal(inotifyWatchCount(), watchesBefore, 'no inotify watch for a polled directory');
  const waiting = watcher.waitFor(polled, { deadline: soon() });
  await writeAtomically(dir, 'other-run.json', JSON.stringify(VALID));
  const readsBefore = watcher.stats().reads;
  const writtenAt = Date.now();
  await writeAtomically(dir, 'run-poll.json', JSON.stringify(VALID));
  assert.equal((await waiting).kind, 'handoff');
  // The bench measures the detection latency; here only that it comes from the next ticks.
  assert.ok(Date.now() - writtenAt < 1_000, `found after ${Date.now() - writtenAt} ms`);
  assert.equal(watcher.stats().reads - readsBefore, 1, 'the other file is never read');
});
