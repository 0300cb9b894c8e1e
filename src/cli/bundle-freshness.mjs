/**
 * Whether dist/cli/ (scripts/bundle-cli.mjs) may run instead of the sources: only when every
 * source file it was built from is still the file it was built from (same size and mtime), and
 * package-lock.json too (a dependency installed without running `prepare`). Anything else, an
 * edited file, a checkout, a missing or unreadable manifest, means the sources run: a stale
 * bundle must never answer for code that has changed. About 25 stat calls, well under 1 ms.
 *
 * Plain JavaScript: the launcher calls it before anything could load the TypeScript stripper.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const MANIFEST_FILE = 'manifest.json';
export const BUNDLE_ENTRY = 'orchestrate.js';
/** Inputs that are not modules of the bundle but change what it would contain. */
export const FRESHNESS_EXTRA_INPUTS = ['package-lock.json'];

/**
 * @param {string} bundleDir the bundle's directory (holds the manifest and the entry)
 * @param {string} repoRoot what the manifest's input paths are relative to
 * @returns {{ fresh: true, entry: string } | { fresh: false, reason: string }}
 */
export function bundleFreshness(bundleDir, repoRoot) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(bundleDir, MANIFEST_FILE), 'utf8'));
  } catch (error) {
    const { code, message } = /** @type {NodeJS.ErrnoException} */ (error);
    return { fresh: false, reason: code === 'ENOENT' ? 'no bundle built' : `manifest unreadable: ${message}` };
  }
  const inputs = manifest?.inputs;
  if (typeof inputs !== 'object' || inputs === null || Object.keys(inputs).length === 0 || typeof manifest.entry !== 'string') {
    return { fresh: false, reason: 'manifest without inputs' };
  }
  for (const [input, built] of Object.entries(inputs)) {
    let now;
    try {
      now = statSync(path.join(repoRoot, input));
    } catch {
      return { fresh: false, reason: `${input} is gone` };
    }
    if (now.size !== built?.size || now.mtimeMs !== built?.mtimeMs) return { fresh: false, reason: `${input} changed since the bundle was built` };
  }
  return { fresh: true, entry: path.join(bundleDir, manifest.entry) };
}
