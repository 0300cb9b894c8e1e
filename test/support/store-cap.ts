/**
 * Preloaded into a bot process (`node --import`) by the test of a full state directory: on
 * SIGUSR2 every sqlite connection the process opened may no longer grow its file (`PRAGMA
 * max_page_count` set to its size), so the next write that needs a new page fails with
 * SQLITE_FULL, as on a full disk, deterministically and without privileges. Says so on stderr.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { DatabaseSync as DatabaseSyncType } from 'node:sqlite';

const require = createRequire(import.meta.url);
const sqlite = require('node:sqlite') as { DatabaseSync: typeof DatabaseSyncType };
const Original = sqlite.DatabaseSync;
const opened: DatabaseSyncType[] = [];
sqlite.DatabaseSync = class extends Original {
  constructor(...args: ConstructorParameters<typeof Original>) {
    super(...args);
    opened.push(this);
  }
};
syncBuiltinESMExports();

process.on('SIGUSR2', () => {
  const capped = opened
    .filter((db) => db.isOpen)
    .map((db) => {
      const pages = Number(db.prepare('PRAGMA page_count').get()?.page_count);
      db.exec(`PRAGMA max_page_count = ${pages}`);
      return { pages, free: Number(db.prepare('PRAGMA freelist_count').get()?.freelist_count) };
    });
  process.stderr.write(`${JSON.stringify({ msg: 'test: run store capped', capped })}\n`);
});
