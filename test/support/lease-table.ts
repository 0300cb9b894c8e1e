/** The lease table, made as production makes it: by the PostgreSQL store's migrations. */
import { openRunStore } from '../../src/store/store-api.ts';

export async function createLeaseTable(url: string, password: string): Promise<void> {
  const store = await openRunStore({ kind: 'postgres', url, password });
  await store.close();
}
