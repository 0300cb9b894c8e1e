/**
 * undici's Pool class by its own file. `import { Pool } from 'undici'` evaluates the whole
 * package (fetch, WebSocket, cache, mocks: ~110 files, ~50 ms of every CLI run's start-up) for
 * the one class the gateway client uses (only `dispatch` and `destroy`: none of the API methods
 * the index adds to Dispatcher.prototype). undici has no `exports` map, so the file is
 * reachable, and it is the very class the index exports. If an undici upgrade moves it, the
 * import fails at load and every gateway test fails.
 */
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';
  const PoolClass: typeof Pool;
  export default PoolClass;
}
