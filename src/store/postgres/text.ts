/**
 * Free text in PostgreSQL: a task or an attempt's detail may hold any character, and PostgreSQL's
 * text type refuses NUL, so such columns keep the JSON encoding of the string and are decoded on
 * the way out, giving back exactly what SQLite gives back.
 */
import type { Row } from '../sqlite-rows.ts';

export function encodeText(value: string | undefined): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** The row with the named columns decoded (NULL stays NULL). */
export function decodeColumns(row: Row, columns: readonly string[]): Row {
  const decoded: Row = { ...row };
  for (const column of columns) {
    const value = row[column];
    if (typeof value === 'string') decoded[column] = JSON.parse(value) as string;
  }
  return decoded;
}
