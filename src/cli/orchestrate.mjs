#!/usr/bin/env -S node --min-semi-space-size=32 --preserve-symlinks
// The orchestrate command's fast start: plain JavaScript on purpose. Node compiles a .ts entry
// (loading its TypeScript stripper) before the entry can switch the compile cache on; this
// launcher switches it on first, so on a warm start every module, orchestrate.ts included,
// comes from the cache and the stripper is never loaded (about 0.1 s saved per run).
//
// Node flags, in the shebang and in the npm script (`node --min-semi-space-size=32 …`):
// --min-semi-space-size=32 (MB): loading ~170 modules fills V8's young generation several
//   times over at its default start size; each scavenge costs a few ms. With a young
//   generation that starts large enough, a run does no GC at all (~15-30 ms less CPU).
// --preserve-symlinks: module resolution skips realpath (an lstat per path component of
//   each of the ~500 imports zod's, undici's and pino's files make of each other, ~10-20 ms).
//   Harmless with npm's flat node_modules (no symlinks in it; the bin's own symlink is the
//   main module, which is still resolved to its real path). A layout whose packages are
//   symlinks to a store (pnpm) would need the flag dropped.
// Nothing else, on purpose: most V8 flags (--liftoff-only, --no-opt, --stack-size…) change
// V8's flag hash, and then Node's built-in modules no longer match the code cache embedded in
// the binary (each one undici loads, http, tls, http2, crypto…, is compiled from source,
// ~50 ms per run) and the compile cache moves to another directory. Heap sizes are not part
// of that hash. The one other flag a run wants (no optimising tier-up for undici's WebAssembly
// parser, which process exit would otherwise wait ~0.1 s for) is set by orchestrate.ts at
// run time, once the modules on the way to the POST are loaded; see slowWasmTierUp there.
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
