#!/usr/bin/env node
// The bot's entry (`npm start`, the image's CMD): plain JavaScript on purpose. Node compiles a
// .ts entry, loading its TypeScript stripper (a WebAssembly module that then stays resident),
// before that entry could switch the compile cache on. Switched on here first, later starts take
// every module from the cache and never load the stripper. NODE_COMPILE_CACHE (the Dockerfile
// sets it) names the cache's directory; without it Node picks one under the system's temp dir.
import module from 'node:module';

if (!process.features.typescript) {
  process.stderr.write(
    `hq-delegate: needs Node 24 (this is Node ${process.versions.node}): start it with \`npm start\`\n`,
  );
  process.exit(1);
}
module.enableCompileCache();
await import('./main.ts');
