#!/usr/bin/env node
// The orchestrate command's fast start: plain JavaScript on purpose. Node compiles a .ts entry
// (loading its TypeScript stripper) before the entry can switch the compile cache on; this
// launcher switches it on first, so on a warm start every module, orchestrate.ts included,
// comes from the cache and the stripper is never loaded (about 0.1 s saved per run).
//
// No V8 flag on the command line, on purpose: any V8 flag (--liftoff-only, --no-opt…) changes
// V8's flag hash, and Node's built-in modules then no longer match the code cache embedded in
// the binary: each one undici loads (http, tls, http2, crypto…) is compiled from source, about
// 50 ms per run. The one flag a run wants (no optimising tier-up for undici's WebAssembly
// parser, which process exit would otherwise wait ~0.1 s for) is set by orchestrate.ts at run
// time, once every module is loaded; see slowWasmTierUp there.
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
