#!/usr/bin/env node
/**
 * Bundles the `orchestrate` CLI into dist/cli/ (npm's `prepare`, so every `npm ci` / `npm
 * install` in the repo does it; `npm run build` does it by hand).
 *
 * Why a bundle for a CLI whose sources Node runs directly: a run's start-up is mostly Node's
 * module loader, not our code. From source a run loads ~170 modules (zod alone is 95 files),
 * and resolving, reading and linking each costs more than running it; one bundle split into a
 * few chunks cuts ~30 ms (~10 %) off every whole run (`npm run bench -- cli`). The bundle is an
 * optimisation only: src/cli/orchestrate.mjs runs it when its manifest says it was built from
 * the sources as they are now, and the sources otherwise (see src/cli/bundle-freshness.mjs).
 *
 * Plain JavaScript on purpose: `prepare` runs under whatever Node npm was started with.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MANIFEST_FILE, BUNDLE_ENTRY, FRESHNESS_EXTRA_INPUTS } from '../src/cli/bundle-freshness.mjs';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
export const DEFAULT_OUT_DIR = path.join(REPO_ROOT, 'dist', 'cli');

/**
 * undici's HTTP/2 client, left out of the bundle. Its module loads node:http2 at the top, and
 * Node takes ~20 ms of every run to load that (http2, tls and their bindings), for a protocol
 * a run never speaks: gateways are `http://` on loopback, and undici only uses HTTP/2 when TLS
 * negotiates it (ALPN) on a pool made with `allowH2`, which the gateway client never sets. Should
 * that ever change, the stub refuses the connection with a message saying why, instead of
 * sending anything. The bot runs the sources, so it has the whole of undici.
 * @type {import('esbuild').Plugin}
 */
const withoutUndiciHttp2 = {
  name: 'without-undici-http2',
  setup(build) {
    build.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}undici${path.sep}`) ? { path: 'undici-client-h2', namespace: 'hq-stub' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'hq-stub' }, () => ({
      loader: 'js',
      contents:
        "module.exports = function connectH2() { throw new Error('HTTP/2 is left out of the orchestrate CLI bundle (scripts/bundle-cli.mjs): gateways are reached over HTTP/1.1'); };",
    }));
  },
};

/**
 * @param {{ outDir?: string }} [options]
 * @returns {Promise<{ outDir: string, inputs: number } | { skipped: string }>}
 */
export async function bundleCli(options = {}) {
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    // An install without devDependencies (`npm ci --omit=dev`): the CLI runs from source.
    return { skipped: 'esbuild is not installed (devDependencies omitted); orchestrate runs from source' };
  }
  rmSync(outDir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: REPO_ROOT,
    entryPoints: { [BUNDLE_ENTRY.replace(/\.js$/, '')]: 'src/cli/orchestrate.ts' },
    outdir: outDir,
    bundle: true,
    // Each of run-cli's dynamic imports becomes its own chunk: `--help` and a usage error still
    // load nothing heavy, as from source.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    // Only `--channel-context` reads Discord, and discord.js is 2 MB: it stays a package import,
    // loaded from node_modules when that flag is used.
    external: ['discord.js'],
    // The CommonJS packages inside (undici, pino) call require() for Node's built-ins.
    banner: { js: "import { createRequire as __hqCreateRequire } from 'node:module';\nconst require = __hqCreateRequire(import.meta.url);" },
    // undici's own switch for bundled builds (Node's copy of undici sets it too): it leaves out
    // its experimental Milo parser (~200 KB, off by default) and keeps llhttp.
    define: { esbuildDetection: '1' },
    plugins: [withoutUndiciHttp2],
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  });
  const own = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/') && !input.startsWith('hq-stub:'));
  const inputs = Object.fromEntries(
    [...own, ...FRESHNESS_EXTRA_INPUTS].sort().map((input) => {
      const info = statSync(path.join(REPO_ROOT, input));
      return [input, { size: info.size, mtimeMs: info.mtimeMs }];
    }),
  );
  const manifest = { builtBy: `esbuild ${esbuild.version}`, node: process.version, entry: BUNDLE_ENTRY, inputs };
  writeFileSync(path.join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return { outDir, inputs: Object.keys(inputs).length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outcome = await bundleCli();
  if ('skipped' in outcome) process.stderr.write(`bundle-cli: skipped: ${outcome.skipped}\n`);
  else process.stderr.write(`bundle-cli: ${path.relative(REPO_ROOT, outcome.outDir)}/ built from ${outcome.inputs} source files\n`);
}
