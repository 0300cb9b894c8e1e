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

function fakeOpenWatch(): { opened: FakeFsWatcher[]; openWatch: (dir: string) => FSWatcher } {
  const opened: FakeFsWatcher[] = [];
  return {
    opened,
    openWatch: () => {
      const watcher = new FakeFsWatcher();
      opened.push(watcher);
      return watcher as unknown as FSWatcher;
    },
  };
}

test('a file renamed into the watched directory is reported by its name', async (t) => {
  const dir = await tempDir(t, 'hq-dirwatch-');
  const names = new EventEmitter();
  const watch = watchDirectory({ dir, log: captureLog().log, onEntry: (name) => names.emit('entry', name), onUnknown: () => {} });
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

test('an event without a name asks for a look at every entry', async (t) => {
  const { opened, openWatch } = fakeOpenWatch();
  let unknown = 0;
  const entries: string[] = [];
  const watch = watchDirectory({ dir: '/nowhere', log: captureLog().log, openWatch, onEntry: (name) => entries.push(name), onUnknown: () => (unknown += 1) });
  t.after(() => watch.close());
  opened[0]!.emit('change', 'rename', null);
  opened[0]!.emit('change', 'change', 'run-b.json');
  assert.equal(unknown, 1);
  assert.deepEqual(entries, ['run-b.json']);
});

test('after an error the directory is watched again and every entry is looked at', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { opened, openWatch } = fakeOpenWatch();
  const captured = captureLog();
  let unknown = 0;
  const watch = watchDirectory({ dir: '/nowhere', log: captured.log, openWatch, onEntry: () => {}, onUnknown: () => (unknown += 1) });
  t.after(() => watch.close());
  opened[0]!.emit('error', Object.assign(new Error('watch failed'), { code: 'EIO' }));
  assert.equal(opened[0]!.closed, true);
  assert.equal(opened.length, 1, 'not re-armed at once');
  assert.match(captured.lines.join(''), /directory watch failed/);
  t.mock.timers.tick(REARM_DELAY_MS);
  assert.equal(opened.length, 2);
  assert.equal(unknown, 1, 'events missed while unwatched are caught up by a look at everything');
  watch.close();
  assert.equal(opened[1]!.closed, true);
});

test('a re-arm that fails leaves the directory unwatched, saying so once', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { opened, openWatch } = fakeOpenWatch();
  const captured = captureLog();
  let unknown = 0;
  const failing = (dir: string): FSWatcher => {
    if (opened.length > 0) throw Object.assign(new Error(`ENOENT: no such file or directory, watch '${dir}'`), { code: 'ENOENT' });
    return openWatch(dir);
  };
  const watch = watchDirectory({ dir: '/nowhere', log: captured.log, openWatch: failing, onEntry: () => {}, onUnknown: () => (unknown += 1) });
  t.after(() => watch.close());
  opened[0]!.emit('error', new Error('watch failed'));
  t.mock.timers.tick(REARM_DELAY_MS);
  assert.equal(unknown, 0);
  assert.equal(captured.lines.filter((line) => line.includes('no longer watched')).length, 1);
});

test('a watch closed while waiting to re-arm stays closed', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { opened, openWatch } = fakeOpenWatch();
  const watch = watchDirectory({ dir: '/nowhere', log: captureLog().log, openWatch, onEntry: () => {}, onUnknown: () => {} });
  opened[0]!.emit('error', new Error('watch failed'));
  watch.close();
  t.mock.timers.tick(REARM_DELAY_MS);
  assert.equal(opened.length, 1);
});

test('a directory that does not exist cannot be watched', () => {
  assert.throws(
    () => watchDirectory({ dir: '/nonexistent-hq-dir', log: captureLog().log, onEntry: () => {}, onUnknown: () => {} }),
    { code: 'ENOENT' },
  );
});
