/**
 * One scenario per file: each file defines itself and calls runScenario(). Run alone
 * (`node bench/<file>`) it prints its own table; spawned by run-all.ts it sends its report
 * over the IPC channel instead. Every scenario has a hard time limit.
 */
import { renderTable, type Figure, type ScenarioReport } from './report.ts';

export interface ScenarioDefinition {
  readonly id: string;
  readonly issue: number;
  readonly title: string;
  readonly method: string;
  /** Upper bound on the whole scenario; past it the scenario is reported as failed. */
  readonly limitMs: number;
  run(): Promise<readonly Figure[]>;
}

/** Set by run-all.ts for a first pass that only loads a scenario's modules (see there). */
export const PRIME_ONLY_ENV = 'BENCH_PRIME_ONLY';

export async function runScenario(definition: ScenarioDefinition): Promise<void> {
  // Every module is loaded (and now in the compile cache) once this is called.
  if (process.env[PRIME_ONLY_ENV]) process.exit(0);
  const started = performance.now();
  let report: ScenarioReport;
  let timer: NodeJS.Timeout | undefined;
  try {
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`scenario exceeded its ${definition.limitMs} ms limit`)),
        definition.limitMs,
      );
    });
    const figures = await Promise.race([definition.run(), limit]);
    report = { ...describe(definition), figures, durationMs: performance.now() - started };
  } catch (error) {
    report = {
      ...describe(definition),
      figures: [],
      durationMs: performance.now() - started,
      error: (error as Error).stack ?? String(error),
    };
  } finally {
    clearTimeout(timer);
  }
  if (process.send) {
    await new Promise<void>((resolve) => process.send!(report, () => resolve()));
  } else {
    process.stdout.write(renderTable([report]) + '\n');
    if (report.error) process.stderr.write(report.error + '\n');
  }
  // Fake servers and child processes are closed by the scenario; exit regardless of stray handles.
  process.exit(report.error ? 1 : 0);
}

function describe(definition: ScenarioDefinition): Pick<ScenarioReport, 'id' | 'issue' | 'title' | 'method'> {
  return { id: definition.id, issue: definition.issue, title: definition.title, method: definition.method };
}
