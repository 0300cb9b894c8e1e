import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FSWatcher } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { REARM_DELAY_MS, watchDirectory } from '../src/engine/directory-watch.ts';
import { captureLog, tempDir } from './fakes/engine-harness.ts';

/** Stands in for fs.watch's FSWatcher, so a test can send what Linux rarely does: no name, an error. */
class FakeFsWatcher extends EventEmitter {
  closed = false;
  close(): void {
    this.closed = true;
  }
}

/** A watch of a fake directory whose fs.watch handles are `opened`; records what it reports. */
function watchFake(options: { failToReopen?: boolean } = {}) {
  const opened: FakeFsWatcher[] = [];
  const entries: string[] = [];
  const captured = captureLog();
  const seen = { unknown: 0 };
  const openWatch = (dir: string): FSWatcher => {
    if (options.failToReopen === true && opened.length > 0) {
      throw Object.assign(new Error(`ENOENT: no such file or directory, watch '${dir}'`), { code: 'ENOENT' });
    }
    const watcher = new FakeFsWatcher();
    opened.push(watcher);
    return watcher as unknown as FSWatcher;
  };
  const watch = watchDirectory({
    dir: '/nowhere',
    log: captured.log,
    openWatch,
    onEntry: (name) => entries.push(name),
    onUnknown: () => (seen.unknown += 1),
  });
  return { watch, opened, entries, seen, lines: captured.lines };
}

test('a file renamed into the watched directory is reported by its name', async (t) => {
  const dir = await tempDir(t, 'hq-dirwatch-');
  const names = new EventEmitter();
  const onEntry = (name: string): boolean => names.emit('entry', name);
  const watch = watchDirectory({ dir, log: captureLog().log, onEntry, onUnknown: () => {} });
  t.after(() => watch.close());
  const seen = new Promise<void>((resolve) => {
    names.on('entry', (name: string) => {
      if (name === 'run-a.json') resolve();
    });
  });
  await writeFile(path.join(dir, '.run-a.json.tmp'), '{}');
  await rename(path.join(dir, '.run-a.json.tmp'), path.join(dir, 'run-a.json'));
  await seen;
});

test('an event without a name asks for a look at every entry', (t) => {
  const { watch, opened, entries, seen } = watchFake();
  t.after(() => watch.close());
  opened[0]!.emit('change', 'rename', null);
  opened[0]!.emit('change', 'change', 'run-b.json');
  assert.equal(seen.unknown, 1);
  assert.deepEqual(entries, ['run-b.json']);
});

test('after an error the directory is watched again and every entry is looked at', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { watch, opened, seen, lines } = watchFake();
  t.after(() => watch.close());
  opened[0]!.emit('error', Object.assign(new Error('watch failed'), { code: 'EIO' }));
  assert.equal(opened[0]!.closed, true);
  assert.equal(opened.length, 1, 'not re-armed at once');
  assert.match(lines.join(''), /directory watch failed/);
  t.mock.timers.tick(REARM_DELAY_MS);
  assert.equal(opened.length, 2);
  assert.equal(seen.unknown, 1, 'events missed while unwatched are caught up by a look at everything');
  watch.close();
  assert.equal(opened[1]!.closed, true);
});

test('a re-arm that fails leaves the directory unwatched, saying so once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { watch, opened, seen, lines } = watchFake({ failToReopen: true });
  t.after(() => watch.close());
  opened[0]!.emit('error', new Error('watch failed'));
  t.mock.timers.tick(REARM_DELAY_MS);
  assert.equal(seen.unknown, 0);
  assert.equal(lines.filter((line) => line.includes('no longer watched')).length, 1);
});

test('a watch closed while waiting to re-arm stays closed', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { watch, opened } = watchFake();
  opened[0]!.emit('error', new Error('watch failed'));
  watch.close();
  t.mock.timers.tick(REARM_DELAY_MS);
  assert.equal(opened.length, 1);
});

test('a directory that does not exist cannot be watched', () => {
  const log = captureLog().log;
  assert.throws(() => watchDirectory({ dir: '/nonexistent-hq-dir', log, onEntry: () => {}, onUnknown: () => {} }), {
    code: 'ENOENT',
  });
});
