/**
 * What every store module needs to read sqlite rows and write in one transaction: the row type,
 * NULL-aware converters, and BEGIN IMMEDIATE … COMMIT for the few multi-statement writes.
 */
import type { DatabaseSync, SQLOutputValue } from 'node:sqlite';

export type Row = Record<string, SQLOutputValue>;

export function text(value: SQLOutputValue | undefined): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

export function int(value: SQLOutputValue | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

export function json<T>(value: SQLOutputValue | undefined): T | undefined {
  return value === null || value === undefined ? undefined : (JSON.parse(String(value)) as T);
}

export function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/**
 * Runs `fn` in one transaction that takes the write lock up front (BEGIN IMMEDIATE), so a second
 * connection waits on busy_timeout instead of failing half-way; inside a transaction it joins it.
 */
export function createTransaction(db: DatabaseSync): <T>(fn: () => T) => T {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  return (fn) => {
    if (db.isTransaction) return fn();
    begin.run();
    try {
      const value = fn();
      commit.run();
      return value;
    } catch (error) {
      if (db.isTransaction) rollback.run();
      throw error;
    }
  };
}
