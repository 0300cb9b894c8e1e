#!/usr/bin/env node
// The orchestrate command's entry (the package's bin). Plain JavaScript so that it can switch
// Node's compile cache on before any .ts module loads, and name the Node it needs on an older one.
import module from 'node:module';

if (!process.features.typescript) {
  process.stderr.write(
    `orchestrate: needs Node 24 (this is Node ${process.versions.node}): run it as \`npm run -s orchestrate -- …\`, or put node_modules/.bin first on PATH\n`,
  );
  process.exit(1);
}
module.enableCompileCache();
await import('./orchestrate.ts');
