/**
 * What only the PostgreSQL store has: migrations raced by processes starting together, writes
 * fenced by the leader lease's epoch, a health check that sees the server go, a password that
 * stays out of every message.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { ErrorCode, HqError } from '../src/errors.ts';
import { openRunStore, type AsyncRunStore } from '../src/store/store-api.ts';
import { PG_SCHEMA_VERSION } from '../src/store/postgres/schema.ts';
import { pgSkipReason, startPgCluster } from './support/pg-cluster.ts';
import { journalRun } from './support/run-store-fixtures.ts';
import { postgresBackend } from './support/store-backends.ts';

const skip = pgSkipReason();
const backend = postgresBackend();

const isCode = (code: string) => (error: unknown) => error instanceof HqError && error.code === code;

describe('the PostgreSQL store', { skip }, () => {
  test('five processes opening a fresh database at once migrate it once', async (t) => {
    const cluster = await backend.cluster();
    const url = await cluster.createDatabase();
    const stores = await Promise.all(
      [1, 2, 3, 4, 5].map(() => openRunStore({ kind: 'postgres', url, password: cluster.password })),
    );
    t.after(() => Promise.all(stores.map((store) => store.close())));
    const database = new URL(url).pathname.slice(1);
    const { rows } = await cluster.query('SELECT version FROM schema_version', database);
    assert.deepEqual(rows, [{ version: PG_SCHEMA_VERSION }]);
    await stores[0]!.runAccepted(journalRun('run-shared'));
    for (const store of stores) assert.equal((await store.getRun('run-shared'))?.status, 'running');
  });

  test('a database of a newer schema version, or of another program, is refused and left as it was', async (t) => {
    const cluster = await backend.cluster();
    const url = await cluster.createDatabase();
    const database = new URL(url).pathname.slice(1);
    await (await openRunStore({ kind: 'postgres', url, password: cluster.password })).close();
    await cluster.query(`UPDATE schema_version SET version = ${PG_SCHEMA_VERSION + 1}`, database);
    await assert.rejects(
      openRunStore({ kind: 'postgres', url, password: cluster.password }),
      (error: unknown) =>
        isCode(ErrorCode.CONFIG_INVALID)(error) &&
        (error as Error).message.includes(`version ${PG_SCHEMA_VERSION + 1} is newer`),
    );
    const { rows } = await cluster.query('SELECT version FROM schema_version', database);
    assert.deepEqual(rows, [{ version: PG_SCHEMA_VERSION + 1 }]);

    const foreign = await cluster.createDatabase();
    await cluster.query('CREATE TABLE runs (id int)', new URL(foreign).pathname.slice(1));
    await assert.rejects(
      openRunStore({ kind: 'postgres', url: foreign, password: cluster.password }),
      /not an hq-delegate run store \(it has tables runs/,
    );
    t.diagnostic('both refused');
  });

  test('a write with a stale lease epoch is refused and changes nothing; the current epoch goes through', async (t) => {
    const cluster = await backend.cluster();
    const url = await cluster.createDatabase();
    const database = new URL(url).pathname.slice(1);
    let epoch: number | undefined = 1;
    const store = await openRunStore({ kind: 'postgres', url, password: cluster.password, fence: () => epoch });
    t.after(() => store.close());
    const lease = (n: number, expires: string) =>
      cluster.query(
        `INSERT INTO hq_lease (name, holder, epoch, expires_at) VALUES ('leader', 'test', ${n}, ${expires})
         ON CONFLICT (name) DO UPDATE SET epoch = excluded.epoch, expires_at = excluded.expires_at`,
        database,
      );

    await assert.rejects(store.runAccepted(journalRun('run-no-lease')), isCode(ErrorCode.STORE_FENCED));
    await lease(1, "now() + interval '1 minute'");
    await store.runAccepted(journalRun('run-led'));
    assert.equal((await store.getRun('run-led'))?.status, 'running');

    await lease(2, "now() + interval '1 minute'"); // another replica took over
    await assert.rejects(
      store.runFinished({
        status: 'complete',
        result: 'r',
        runId: 'run-led',
        agent: 'tech-lead',
        latencyMs: 1,
        attempts: 1,
      }),
      (error: unknown) =>
        isCode(ErrorCode.STORE_FENCED)(error) &&
        /no longer leads; another replica took over/.test((error as Error).message),
    );
    await assert.rejects(store.setLastSeen('1', '2'), isCode(ErrorCode.STORE_FENCED));
    assert.equal((await store.getRun('run-led'))?.status, 'running', 'the stale write changed nothing');
    assert.equal(await store.lastSeen('1'), undefined);

    epoch = undefined; // the lease was lost: nothing is written whatever the row says
    await assert.rejects(store.setLastSeen('1', '2'), isCode(ErrorCode.STORE_FENCED));

    epoch = 2;
    assert.equal(await store.setLastSeen('1', '2'), true);
    await lease(2, "now() - interval '1 second'"); // expired, not renewed
    await assert.rejects(store.setLastSeen('1', '3'), isCode(ErrorCode.STORE_FENCED));
    assert.equal(await store.lastSeen('1'), '2');
    assert.deepEqual(await store.healthCheck(), { ok: true }, 'being fenced is not a broken store');
  });

  test('the health check and writes report a database that went away, and the store closes', async (t) => {
    const own = await startPgCluster();
    t.after(() => own.stop());
    const store = await openRunStore({ kind: 'postgres', url: await own.createDatabase(), password: own.password });
    t.after(() => store.close());
    assert.deepEqual(await store.healthCheck(), { ok: true });
    await store.assertWritable();
    await own.stop();

    const health = await store.healthCheck();
    assert.equal(health.ok, false);
    assert.match(health.detail ?? '', /run store/);
    await assert.rejects(store.runAccepted(journalRun('run-lost')), isCode(ErrorCode.STORE_UNWRITABLE));
    assert.equal((await store.healthCheck()).ok, false);
    await assert.rejects(store.assertWritable(), isCode(ErrorCode.STORE_UNWRITABLE));
    await store.close();
    assert.deepEqual(await store.healthCheck(), { ok: false, detail: 'run store is closed' });
    await store.close();
  });

  test('the password comes from the environment and appears in no message', async (t) => {
    const cluster = await backend.cluster();
    const url = await cluster.createDatabase();
    const saved = process.env['HQ_STORE_PASSWORD'];
    t.after(() => {
      if (saved === undefined) delete process.env['HQ_STORE_PASSWORD'];
      else process.env['HQ_STORE_PASSWORD'] = saved;
    });
    process.env['HQ_STORE_PASSWORD'] = cluster.password;
    const store: AsyncRunStore = await openRunStore({ kind: 'postgres', url });
    t.after(() => store.close());
    assert.equal(store.location, url);
    assert.deepEqual(await store.healthCheck(), { ok: true });

    const wrong = 'wrong-' + cluster.password;
    await assert.rejects(openRunStore({ kind: 'postgres', url, password: wrong }), (error: unknown) => {
      assert.ok(error instanceof HqError && error.code === ErrorCode.CONFIG_INVALID);
      assert.doesNotMatch(`${error.message} ${String((error.cause as Error)?.message)}`, new RegExp(wrong));
      return true;
    });
    const withPassword = url.replace('hq@', `hq:${cluster.password}@`);
    await assert.rejects(openRunStore({ kind: 'postgres', url: withPassword }), (error: unknown) => {
      assert.ok(error instanceof HqError && /must not hold the password; set HQ_STORE_PASSWORD/.test(error.message));
      assert.ok(!error.message.includes(cluster.password));
      return true;
    });
  });

  test('every write a verb resolved survives the process being killed', async (t) => {
    const cluster = await backend.cluster();
    const url = await cluster.createDatabase();
    const storeApi = new URL('../src/store/store-api.ts', import.meta.url).href;
    // The child reports each run id only once its verbs resolved, then keeps writing until killed.
    const source = `
      const { openRunStore } = await import(${JSON.stringify(storeApi)});
      const store = await openRunStore({ kind: 'postgres', url: ${JSON.stringify(url)} });
      for (let i = 0; ; i++) {
        const runId = 'killed-' + i;
        await store.runAccepted({ runId, acceptedAt: i, request: { runId, agent: 'webster', task: 't', principals: ['m'] } });
        await store.attemptStarted(runId, 1, i, i + 1000);
        await store.attemptSent(runId, 1, 'gw-' + i);
        process.stdout.write(runId + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HQ_STORE_PASSWORD: cluster.password },
    });
    t.after(() => child.kill('SIGKILL'));
    const reported: string[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      reported.push(line);
      if (reported.length === 200) break;
    }
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    assert.equal((await exited)[1], 'SIGKILL');

    const store = await openRunStore({ kind: 'postgres', url, password: cluster.password });
    t.after(() => store.close());
    const resumable = new Map((await store.listResumable()).map((run) => [run.runId, run]));
    for (const runId of reported) {
      assert.equal(resumable.get(runId)?.sent, true, `${runId} was reported written, so it must be there, sent`);
    }
  });
});
