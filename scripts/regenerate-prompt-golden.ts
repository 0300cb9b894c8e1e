/**
 * Makes test/fixtures/prompt-golden.json again from the reference script
 * (../shared/reference/orchestrate.py beside the clone). Run it when a golden case is added.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GOLDEN_FIXTURE,
  recordReferencePayloads,
  REFERENCE_DIR,
  referenceIsPresent,
} from '../test/support/reference-prompts.ts';

if (!referenceIsPresent()) {
  console.error(`the reference script is not at ${REFERENCE_DIR}: nothing to regenerate from`);
  process.exit(1);
}
const scratch = await mkdtemp(path.join(tmpdir(), 'hq-golden-'));
try {
  const entries = await recordReferencePayloads(scratch);
  await writeFile(GOLDEN_FIXTURE, `${JSON.stringify(entries, null, 2)}\n`);
  console.log(`wrote ${entries.length} cases to ${path.relative(process.cwd(), GOLDEN_FIXTURE)}`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
