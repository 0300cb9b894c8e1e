import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createRunStore, JOURNAL_SIZE_LIMIT_BYTES } from '../src/store/run-store.ts';
import { SCHEMA_VERSION } from '../src/store/schema.ts';
import { ErrorCode, HqError } from '../src/errors.ts';
import { journalRun, open, storeChild, tempFile } from './support/run-store-fixtures.ts';
import { storeBackends } from './support/store-backends.ts';

test('a new file is created in WAL mode with the current schema version', async (t) => {
  const file = await tempFile(t);
  open(t, file).close();
  const raw = new DatabaseSync(file);
  t.after(() => raw.close());
  assert.equal(raw.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
  assert.equal(raw.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
  assert.equal((await stat(file)).mode & 0o777, 0o600, 'only the owner may read the interaction tokens inside');
});

test('a file from a newer schema version is refused with a clear error and left as it was', async (t) => {
  const file = await tempFile(t);
  createRunStore(file).close();
  const raw = new DatabaseSync(file);
  raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();

  assert.throws(
    () => createRunStore(file),
    (error: unknown) =>
      error instanceof HqError &&
      error.code === ErrorCode.CONFIG_INVALID &&
      error.message.includes(file) &&
      error.message.includes(`version ${SCHEMA_VERSION + 1} is newer`),
  );
  const check = new DatabaseSync(file);
  t.after(() => check.close());
  assert.equal(check.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION + 1);
});

test('a file that is not a run store is refused', async (t) => {
  const garbage = await tempFile(t, 'garbage.sqlite');
  createRunStore(path.join(path.dirname(garbage), 'make-dir.sqlite')).close();
  await writeFile(
    garbage,
    'this is not a database, just some text that is long enough to look like a header '.repeat(20),
  );
  assert.throws(
    () => createRunStore(garbage),
    (error: unknown) => error instanceof HqError && error.message.includes(garbage),
  );

  const foreign = path.join(path.dirname(garbage), 'foreign.sqlite');
  const raw = new DatabaseSync(foreign);
  raw.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
  raw.close();
  assert.throws(() => createRunStore(foreign), /not an hq-delegate run store \(it has tables invoices\)/);
});

test('writers on other threads share one file without losing a write', async (t) => {
  const file = await tempFile(t);
  const store = open(t, file);
  const storeUrl = new URL('../src/store/run-store.ts', import.meta.url).href;
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.storeUrl).then(({ createRunStore }) => {
      const store = createRunStore(workerData.file);
      for (let i = 0; i < 200; i++) {
        const runId = workerData.prefix + i;
        store.runAccepted({ runId, acceptedAt: i, request: { runId, agent: 'webster', task: 't', principals: ['manager'] } });
        store.attemptStarted(runId, 1, i, i + 1000);
        store.setLastSeen('1000000000000000', String(1000000000000000n + BigInt(i)));
      }
      store.close();
      parentPort.postMessage('done');
    });`;
  const workers = ['a-', 'b-'].map(
    (prefix) => new Worker(source, { eval: true, workerData: { storeUrl, file, prefix } }),
  );
  for (const worker of workers) t.after(() => worker.terminate());
  for (let i = 0; i < 200; i++) store.runAccepted(journalRun(`main-${i}`, {}, i));
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
        }),
    ),
  );
  assert.equal(store.listResumable().length, 600);
  assert.equal(store.lastSeen('1000000000000000'), '1000000000000199');
});

test('sqlite checkpoints the WAL as it grows, so it stays within its size limit', async (t) => {
  const file = await tempFile(t);
  const store = open(t, file);
  const bulky = 'x'.repeat(20_000);
  for (let i = 0; i < 1_200; i++) store.runAccepted(journalRun(`big-${i}`, { task: bulky }, i));
  assert.ok((await stat(file)).size > JOURNAL_SIZE_LIMIT_BYTES, 'the database holds more than the WAL may');
  assert.ok((await stat(`${file}-wal`)).size <= JOURNAL_SIZE_LIMIT_BYTES);
  assert.equal(store.getRun('big-1199')?.task, bulky);
});

test('the last close removes the WAL', async (t) => {
  const file = await tempFile(t);
  const store = createRunStore(file);
  for (let i = 0; i < 50; i++) store.runAccepted(journalRun(`close-${i}`, {}, i));
  store.close();
  await assert.rejects(stat(`${file}-wal`), { code: 'ENOENT' });
  const again = open(t, file);
  assert.equal(again.listResumable().length, 50);
});

test('every change a verb returned from survives the process being killed', async (t) => {
  const file = await tempFile(t);
  createRunStore(file).close();
  // The child reports each run id only after its verbs returned, then keeps writing until killed.
  const child = storeChild(
    t,
    file,
    `
    for (let i = 0; ; i++) {
      const runId = 'killed-' + i;
      store.runAccepted({ runId, acceptedAt: i, request: { runId, agent: 'webster', task: 't', principals: ['manager'] } });
      store.attemptStarted(runId, 1, i, i + 1000);
      store.attemptSent(runId, 1, 'gw-' + i);
      process.stdout.write(runId + '\\n');
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }`,
  );
  const reported: string[] = [];
  for await (const line of child.lines) {
    reported.push(line);
    if (reported.length === 300) break;
  }
  await child.kill();

  const store = open(t, file);
  const resumable = new Map(store.listResumable().map((run) => [run.runId, run]));
  for (const runId of reported) {
    assert.equal(resumable.get(runId)?.sent, true, `${runId} was reported written, so it must be there, sent`);
  }
});

test("a run's finish is committed before the verb returns: a process killed just after keeps it", async (t) => {
  const file = await tempFile(t);
  createRunStore(file).close();
  // The child answers runs without ever yielding, then spins until killed.
  const child = storeChild(
    t,
    file,
    `
    for (let i = 0; i < 3; i++) {
      const runId = 'answered-' + i;
      store.runAccepted({ runId, acceptedAt: i, request: { runId, agent: 'webster', task: 't', principals: ['manager'] } });
      store.attemptStarted(runId, 1, i, i + 1000);
      store.attemptSent(runId, 1, 'gw-' + i);
      store.attemptEnded(runId, 1, 'accepted', 'complete');
      store.runFinished({ status: 'complete', result: 'r' + i, runId, agent: 'webster', latencyMs: 5, attempts: 1 });
    }
    process.stdout.write('answered\\n');
    for (;;);`,
  );
  for await (const line of child.lines) if (line === 'answered') break;
  await child.kill();

  const store = open(t, file);
  assert.deepEqual(store.listResumable(), []);
  for (const runId of ['answered-0', 'answered-1', 'answered-2']) assert.equal(store.getRun(runId)?.status, 'complete');
});

test('a process killed between an accepted attempt and its result resumes the run as sent', async (t) => {
  const file = await tempFile(t);
  createRunStore(file).close();
  const storeUrl = new URL('../src/store/run-store.ts', import.meta.url).href;
  const source = `
    const { createRunStore } = await import(${JSON.stringify(storeUrl)});
    const store = createRunStore(${JSON.stringify(file)});
    const runId = 'killed-after-accept';
    store.runAccepted({ runId, acceptedAt: 1, request: { runId, agent: 'webster', task: 't', principals: ['manager'] } });
    store.attemptStarted(runId, 1, 2, 1002);
    store.attemptSent(runId, 1, 'gw');
    store.attemptEnded(runId, 1, 'accepted', 'complete');
    process.kill(process.pid, 'SIGKILL');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: 'inherit' });
  t.after(() => child.kill('SIGKILL'));
  assert.equal((await once(child, 'exit'))[1], 'SIGKILL');

  const [run, ...rest] = open(t, file).listResumable();
  assert.equal(rest.length, 0);
  // Resumed as sent, the engine looks for the handoff first and finds the one it had accepted.
  assert.deepEqual([run?.runId, run?.attempt, run?.sent, run?.deadline], ['killed-after-accept', 1, true, 1002]);
});

for (const backend of storeBackends()) {
  describe(backend.name, { skip: backend.skip }, () => {
    test('the health check passes on an open store and fails once it is closed', async (t) => {
      const store = await (await backend.fresh(t)).open();
      assert.deepEqual(await store.healthCheck(), { ok: true });
      await store.close();
      assert.equal((await store.healthCheck()).ok, false);
      await store.close();
    });

    test('stores writing to one place at once lose no write', async (t) => {
      const place = await backend.fresh(t);
      const stores = await Promise.all([place.open(), place.open(), place.open()]);
      await Promise.all(
        stores.map(async (store, s) => {
          for (let i = 0; i < 100; i++) {
            const runId = `w${s}-${i}`;
            await store.runAccepted(journalRun(runId, {}, i));
            await store.attemptStarted(runId, 1, i, i + 1000);
            await store.setLastSeen('1000000000000000', String(1000000000000000n + BigInt(s * 100 + i)));
          }
        }),
      );
      assert.equal((await stores[0]!.listResumable()).length, 300);
      assert.equal(await stores[1]!.lastSeen('1000000000000000'), '1000000000000299');
    });
  });
}
