/**
 * The SQLite store behind the async interface (store-api.ts): each verb runs synchronously, as
 * before, and its value or error comes back as a settled promise.
 */
import { createRunStore, type RunStore, type RunStoreOptions } from './run-store.ts';
import type { AsyncRunStore } from './store-api.ts';

const OWN_MEMBERS = new Set(['file', 'healthCheck', 'assertWritable', 'close', 'deliveryNonce']);

export function asAsyncStore(store: RunStore): AsyncRunStore {
  const verbs: Record<string, unknown> = {};
  for (const [name, verb] of Object.entries(store)) {
    if (OWN_MEMBERS.has(name) || typeof verb !== 'function') continue;
    verbs[name] = async (...args: unknown[]) => (verb as (...a: unknown[]) => unknown)(...args);
  }
  return {
    ...(verbs as Omit<
      AsyncRunStore,
      'kind' | 'location' | 'deliveryNonce' | 'healthCheck' | 'assertWritable' | 'close'
    >),
    kind: 'sqlite',
    location: store.file,
    deliveryNonce: (runId, kind) => store.deliveryNonce(runId, kind),
    healthCheck: async () => store.healthCheck(),
    assertWritable: async () => store.assertWritable(),
    close: async () => store.close(),
  };
}

export function openSqliteAsync(file: string, options: RunStoreOptions = {}): AsyncRunStore {
  return asAsyncStore(createRunStore(file, options));
}
