/**
 * The CLI bundle (scripts/bundle-cli.mjs): it runs the same CLI as the sources, and the
 * launcher takes it only while it is current (src/cli/bundle-freshness.mjs).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { bundleCli } from '../scripts/bundle-cli.mjs';
import { BUNDLE_ENTRY, bundleFreshness, MANIFEST_FILE } from '../src/cli/bundle-freshness.mjs';
import { cliWorld } from './support/cli-world.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const SOURCE_ENTRY = path.join(REPO_ROOT, 'src/cli/orchestrate.ts');

describe('bundle freshness', () => {
  async function tree(): Promise<{ root: string; bundleDir: string; source: string }> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'hq-fresh-'));
    const bundleDir = path.join(root, 'dist', 'cli');
    await mkdir(bundleDir, { recursive: true });
    const source = path.join(root, 'src', 'a.ts');
    await mkdir(path.dirname(source));
    await writeFile(source, 'export const a = 1;\n');
    const { size, mtimeMs } = await import('node:fs').then((fs) => fs.statSync(source));
    await writeFile(path.join(bundleDir, MANIFEST_FILE), JSON.stringify({ entry: BUNDLE_ENTRY, inputs: { 'src/a.ts': { size, mtimeMs } } }));
    return { root, bundleDir, source };
  }

  test('a bundle built from the files as they are is taken', async (t) => {
    const { root, bundleDir } = await tree();
    t.after(() => rm(root, { recursive: true, force: true }));
    assert.deepEqual(bundleFreshness(bundleDir, root), { fresh: true, entry: path.join(bundleDir, BUNDLE_ENTRY) });
  });

  test('an edited source, even one of the same size, sends the launcher to the sources', async (t) => {
    const { root, bundleDir, source } = await tree();
    t.after(() => rm(root, { recursive: true, force: true }));
    await writeFile(source, 'export const a = 2;\n');
    const later = new Date(Date.now() + 5_000);
    await utimes(source, later, later);
    assert.deepEqual(bundleFreshness(bundleDir, root), { fresh: false, reason: 'src/a.ts changed since the bundle was built' });
  });

  test('a deleted source, a missing manifest or a manifest without inputs are not fresh', async (t) => {
    const { root, bundleDir, source } = await tree();
    t.after(() => rm(root, { recursive: true, force: true }));
    await rm(source);
    assert.deepEqual(bundleFreshness(bundleDir, root), { fresh: false, reason: 'src/a.ts is gone' });
    await writeFile(path.join(bundleDir, MANIFEST_FILE), '{"entry": "orchestrate.js", "inputs": {}}');
    assert.deepEqual(bundleFreshness(bundleDir, root), { fresh: false, reason: 'manifest without inputs' });
    await writeFile(path.join(bundleDir, MANIFEST_FILE), '{not json');
    assert.equal(bundleFreshness(bundleDir, root).fresh, false);
    await rm(path.join(bundleDir, MANIFEST_FILE));
    assert.deepEqual(bundleFreshness(bundleDir, root), { fresh: false, reason: 'no bundle built' });
  });
});

describe('the bundled CLI', () => {
  test('answers like the sources: help, a usage error, a whole run', async (t) => {
    // Inside the repo, so the bundle finds node_modules as dist/cli does.
    await mkdir(path.join(REPO_ROOT, 'dist'), { recursive: true });
    const outDir = await mkdtemp(path.join(REPO_ROOT, 'dist', '.test-bundle-'));
    t.after(() => rm(outDir, { recursive: true, force: true }));
    const built = await bundleCli({ outDir });
    if ('skipped' in built) {
      t.skip(built.skipped);
      return;
    }
    assert.equal(bundleFreshness(outDir, REPO_ROOT).fresh, true, 'the manifest describes the sources it was built from');
    // What a run never uses stays out: undici's HTTP/2 client (it loads node:http2 at once) and
    // its Milo parser. The whole run below shows HTTP/1.1 to the gateway still works.
    const chunks = (await readdir(outDir)).filter((file) => file.endsWith('.js'));
    const texts = new Map(await Promise.all(chunks.map(async (file) => [file, await readFile(path.join(outDir, file), 'utf8')] as const)));
    const code = [...texts.values()].join('\n');
    assert.doesNotMatch(code, /node:http2/);
    assert.doesNotMatch(code, /undici\/lib\/(milo|dispatcher\/client-h2)/);
    assert.match(code, /undici\/lib\/dispatcher\/client-h1\.js/);
    // What a run loads only once its POST is out sits in chunks of its own, imported dynamically:
    // pino (src/cli/log-parts.ts) and chokidar (the handoff watcher's first wait).
    const chunkWith = (source: string): string | undefined => [...texts].find(([, text]) => text.includes(`// ${source}\n`))?.[0];
    assert.match(chunkWith('node_modules/pino/pino.js') ?? 'none', /^log-parts-/);
    assert.match(chunkWith('node_modules/chokidar/index.js') ?? 'none', /^chokidar-/);
    const bundleEntry = path.join(outDir, BUNDLE_ENTRY);

    const help = (entry: string): string => execFileSync(process.execPath, [entry, '--help'], { encoding: 'utf8' });
    assert.equal(help(bundleEntry), help(SOURCE_ENTRY));

    const fromBundle = await cliWorld(t, { gateway: { script: { agent: { write: 'valid' } } }, entry: bundleEntry });
    const fromSource = await cliWorld(t, { gateway: { script: { agent: { write: 'valid' } } }, entry: SOURCE_ENTRY });
    const usage = await Promise.all([fromBundle.run(['--retries', 'x']), fromSource.run(['--retries', 'x'])]);
    assert.equal(usage[0].code, 2);
    assert.deepEqual([usage[0].code, usage[0].stderr], [usage[1].code, usage[1].stderr]);

    const args = ['webster', 'task', '--run-id', 'bundle-1', '--workflow-id', 'wf', '--step-id', 's'];
    const runs = await Promise.all([fromBundle.run(args), fromSource.run(args)]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const comparable = (json: Record<string, unknown>): Record<string, unknown> => ({ ...json, latencyMs: 0 });
    assert.deepEqual(comparable(runs[0].json), comparable(runs[1].json));
    assert.equal(runs[0].json.status, 'complete');
    // The gateway saw the same request from both, bar the temp dir in the handoff path.
    const body = (world: typeof fromBundle): string => JSON.stringify(world.gateway.hookRequests[0]?.body).replaceAll(world.root, '<root>');
    assert.equal(body(fromBundle), body(fromSource));
  });
});
