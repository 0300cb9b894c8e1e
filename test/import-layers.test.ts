/**
 * The layers, read from the import lines: commands/ sits above src/discord/, which sits above
 * the engine, access and the store. The engine knows nothing of Discord, and the Discord side
 * knows the engine only by its types (and the run id format): no HTTP to agents from there.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');

interface ImportLine {
  readonly file: string;
  /** Repo-relative for a relative specifier, the package name otherwise. */
  readonly target: string;
  readonly typeOnly: boolean;
}

const IMPORT =
  /\b(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

async function sourcesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.(ts|mjs|js)$/.test(entry.name))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

async function importsOf(dir: string): Promise<ImportLine[]> {
  const lines: ImportLine[] = [];
  for (const file of await sourcesUnder(dir)) {
    const text = await readFile(path.join(ROOT, file), 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[2] ?? match[3]!;
      const target = specifier.startsWith('.')
        ? path.relative(ROOT, path.resolve(ROOT, path.dirname(file), specifier))
        : specifier;
      lines.push({ file, target, typeOnly: match[1] !== undefined });
    }
  }
  return lines;
}

function offenders(lines: readonly ImportLine[], forbidden: (line: ImportLine) => boolean): string[] {
  return lines.filter(forbidden).map((line) => `${line.file} → ${line.target}`);
}

test('nothing under src/discord imports commands/: the composition root hands the commands in', async () => {
  const lines = await importsOf('src/discord');
  assert.ok(lines.length > 0, 'src/discord has imports to check');
  assert.deepEqual(
    offenders(lines, (line) => line.target.startsWith('commands/')),
    [],
  );
});

test('the engine, access and the store import neither src/discord nor commands/', async () => {
  for (const dir of ['src/engine', 'src/access', 'src/store']) {
    const lines = await importsOf(dir);
    assert.deepEqual(
      offenders(lines, (line) => line.target.startsWith('src/discord/') || line.target.startsWith('commands/')),
      [],
      dir,
    );
  }
});

test('src/discord knows the engine by its types only: no gateway client, no undici', async () => {
  // The run id format is a pure function of the engine's vocabulary, like its status table.
  const allowed = new Set(['src/engine/types.ts', 'src/engine/run-id.ts']);
  const lines = await importsOf('src/discord');
  assert.deepEqual(
    offenders(lines, (line) => line.target.startsWith('src/engine/') && !line.typeOnly && !allowed.has(line.target)),
    [],
  );
  assert.deepEqual(
    offenders(lines, (line) => line.target === 'undici' || line.target.startsWith('undici/')),
    [],
  );
  assert.deepEqual(
    offenders(lines, (line) => line.target === 'src/engine/gateway-client.ts'),
    [],
  );
});
