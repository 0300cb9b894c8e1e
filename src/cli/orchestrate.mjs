#!/usr/bin/env node
// The orchestrate command's entry (the package's bin and `npm run orchestrate`). Plain
// JavaScript on purpose: Node compiles a .ts entry, loading its TypeScript stripper, before that
// entry could switch the compile cache on. Switched on here first, later runs take every
// module from the cache and never load the stripper.
import module from 'node:module';

// Plain JS still runs on an older Node found first on PATH: say what to do instead of failing
// on the first `.ts` import.
if (!process.features.typescript) {
  process.stderr.write(
    `orchestrate: needs Node 24 (this is Node ${process.versions.node}): run it as \`npm run orchestrate -- …\`, or put node_modules/.bin first on PATH\n`,
  );
  process.exit(1);
}
module.enableCompileCache();
await import('./orchestrate.ts');
