/**
 * The body of the run store's checkpoint thread (started by checkpointer.ts). It holds its own
 * connection to the store file and, on an interval and only after the main thread has written,
 * runs a PASSIVE checkpoint: the WAL's frames are copied into the database file and both are
 * fsynced here, so the engine's commits never wait for a disk flush. PASSIVE takes no writer
 * lock; the main connection keeps committing while a checkpoint runs.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { CheckpointerState, type CheckpointerData, type FromCheckpointer, type ToCheckpointer } from './checkpointer.ts';

const data = workerData as CheckpointerData;
const shared = new Int32Array(data.shared);
const port = parentPort!;

let db: DatabaseSync | undefined;
let checkpointStatement: StatementSync | undefined;
let writesCheckpointed = 0;

function send(message: FromCheckpointer): void {
  port.postMessage(message);
}

/** Opens on first use; false once the main thread has closed the store (or closes it meanwhile). */
function connection(): StatementSync | undefined {
  if (checkpointStatement !== undefined) return checkpointStatement;
  // Whoever moves the state off IDLE first wins: either this thread opens, or the store is closed.
  if (Atomics.compareExchange(shared, CheckpointerState.STATE, CheckpointerState.IDLE, CheckpointerState.OPEN) !== CheckpointerState.IDLE) {
    return undefined;
  }
  // mode=rw: a store file deleted under us must not be re-created empty by its checkpointer.
  const url = new URL(data.fileUrl);
  url.searchParams.set('mode', 'rw');
  db = new DatabaseSync(url, { timeout: data.busyTimeoutMs });
  db.exec('PRAGMA wal_autocheckpoint = 0');
  checkpointStatement = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  return checkpointStatement;
}

function checkpoint(id?: number): void {
  const writes = Atomics.load(shared, CheckpointerState.WRITES);
  try {
    const statement = connection();
    if (statement === undefined) {
      if (id !== undefined) send({ type: 'failed', id, message: 'the store is closed' });
      return;
    }
    const started = performance.now();
    const row = statement.get();
    writesCheckpointed = writes;
    send({
      type: 'checkpointed',
      ...(id === undefined ? {} : { id }),
      busy: Number(row?.busy ?? 0) !== 0,
      walFrames: Number(row?.log ?? 0),
      checkpointedFrames: Number(row?.checkpointed ?? 0),
      durationMs: performance.now() - started,
    });
  } catch (error) {
    send({ type: 'failed', ...(id === undefined ? {} : { id }), message: (error as Error).message });
  }
}

function close(): void {
  clearInterval(timer);
  try {
    db?.close();
  } finally {
    Atomics.store(shared, CheckpointerState.STATE, CheckpointerState.CLOSED);
    Atomics.notify(shared, CheckpointerState.STATE);
    port.close();
  }
}

const timer = setInterval(() => {
  if (Atomics.load(shared, CheckpointerState.WRITES) !== writesCheckpointed) checkpoint();
}, data.intervalMs);

port.on('message', (message: ToCheckpointer) => {
  if (message.type === 'checkpoint') checkpoint(message.id);
  else if (message.type === 'close') close();
});
