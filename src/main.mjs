#!/usr/bin/env node
// The bot's entry (`npm start`, the image's CMD). Plain JavaScript so that it can switch Node's
// compile cache on (in NODE_COMPILE_CACHE, or the temp dir) before any .ts module loads.
import module from 'node:module';

if (!process.features.typescript) {
  process.stderr.write(
    `hq-delegate: needs Node 24 (this is Node ${process.versions.node}): start it with \`npm start\`\n`,
  );
  process.exit(1);
}
module.enableCompileCache();
await import('./main.ts');
