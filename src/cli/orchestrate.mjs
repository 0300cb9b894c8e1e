#!/usr/bin/env -S node --liftoff-only
// The orchestrate command's fast start: plain JavaScript on purpose. Node compiles a .ts entry
// (loading its TypeScript stripper) before the entry can switch the compile cache on; this
// launcher switches it on first, so on a warm start every module, orchestrate.ts included,
// comes from the cache and the stripper is never loaded (about 0.1 s saved per run).
//
// --liftoff-only (a V8 flag, honoured only on the command line, hence the shebang): a run makes
// a handful of HTTP requests through undici, whose parser is WebAssembly; V8 would tier it up
// to optimised code in the background, and process exit waits for that compile (about 0.1 s).
// Baseline code is plenty for a few requests.
import module from 'node:module';

// Plain JS still runs on an older Node found first on PATH; say what to do instead of failing
// on the first `.ts` import.
if (!process.features.typescript) {
  process.stderr.write(
    `orchestrate: needs Node 24 (this is Node ${process.versions.node}): run it as \`npm run orchestrate -- …\`, or put node_modules/.bin first on PATH\n`,
  );
  process.exit(1);
}
module.enableCompileCache?.();
await import('./orchestrate.ts');
