/**
 * `npm run bench`: every scenario in its own Node process (so one scenario's memory and
 * watchers do not colour the next), one after the other, then one table.
 * `npm run bench -- <part of a file name>` runs only the matching scenarios.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { renderTable, type ScenarioReport } from './lib/report.ts';
import { PRIME_ONLY_ENV } from './lib/scenario.ts';

const BENCH_DIR = import.meta.dirname;

/**
 * The scenarios, in order. Each file is `bench/<name>.bench.ts` and calls runScenario()
 * (bench/lib/scenario.ts); a new scenario is one more file and one more line here, in its
 * issue's group.
 */
const SCENARIOS: readonly string[] = [
  // issue 3: the engine and the CLI
  'handoff-to-resolved.bench.ts',
  'cli-run-wall-time.bench.ts',
  'fan-out-500-runs.bench.ts',
  // issue 4: the Discord bot, through the fake Discord
  'discord-defer-burst.bench.ts',
  'discord-slash-to-embed.bench.ts',
  // issue 5: durable runs
  'store-overhead.bench.ts',
  'restart-pending.bench.ts',
  // issue 11: trusted handoffs from any host
  'http-handoff.bench.ts',
  'handoff-polling.bench.ts',
  // issue 13: conversations with agents
  'approval-click-to-post.bench.ts',
  'thread-follow-up-burst.bench.ts',
  'thread-result-post.bench.ts',
  'thread-followup-defer-burst.bench.ts',
  // issue 14: the run store on PostgreSQL
  'pg-store-overhead.bench.ts',
  'pg-handoff-relay.bench.ts',
  'failover.bench.ts',
];

/**
 * The flags `npm start` and the Dockerfile give the bot: V8's young generation otherwise grows
 * to 64–128 MB during a burst on a large host, which RSS keeps (the heap after GC is ~30 MB).
 */
const SCENARIO_NODE_FLAGS = ['--max-semi-space-size=8'];

/**
 * Scenarios run with Node's compile cache on, as the bot does (`npm start` goes through
 * src/main.mjs, the image sets NODE_COMPILE_CACHE): without it every .ts module is stripped
 * again and Node's TypeScript stripper stays resident (~25 MB of RSS no deployment carries).
 * The same directory Node picks when a launcher enables the cache without naming one.
 */
const SCENARIO_ENV = {
  ...process.env,
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), 'node-compile-cache'),
};

/** A scenario that hangs is killed after this, and reported as failed. */
const SCENARIO_KILL_MS = 240_000;

/**
 * Loads every selected scenario's modules once, without running it, so the measured pass finds
 * them in the compile cache even on a fresh machine (a cold cache loads the stripper, see above).
 */
async function primeCompileCache(files: readonly string[]): Promise<void> {
  for (const file of files) {
    const child = fork(path.join(BENCH_DIR, file), [], {
      stdio: 'ignore',
      execArgv: SCENARIO_NODE_FLAGS,
      env: { ...SCENARIO_ENV, [PRIME_ONLY_ENV]: '1' },
    });
    await once(child, 'exit');
  }
}

function runOne(file: string): Promise<ScenarioReport> {
  const started = performance.now();
  const failed = (error: string): ScenarioReport => ({
    id: file.replace(/\.bench\.ts$/, ''),
    issue: 0,
    title: file,
    method: '',
    figures: [],
    durationMs: performance.now() - started,
    error,
  });
  return new Promise((resolve) => {
    let report: ScenarioReport | undefined;
    const child = fork(path.join(BENCH_DIR, file), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: SCENARIO_NODE_FLAGS,
      env: SCENARIO_ENV,
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), SCENARIO_KILL_MS);
    child.on('message', (message) => {
      report = message as ScenarioReport;
    });
    child.on('error', (error) => {
      clearTimeout(killer);
      resolve(failed(error.message));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve(report ?? failed(signal ? `killed by ${signal}` : `exited with ${code} without a report`));
    });
  });
}

const filters = process.argv.slice(2);
const selected = filters.length === 0 ? SCENARIOS : SCENARIOS.filter((file) => filters.some((f) => file.includes(f)));
if (selected.length === 0) {
  process.stderr.write(`no scenario matches ${filters.join(' ')}; scenarios: ${SCENARIOS.join(', ')}\n`);
  process.exit(2);
}

const cpus = os.cpus();
process.stdout.write(
  `hq-delegate bench: Node ${process.version}, ${cpus.length} x ${cpus[0]?.model.trim() ?? 'cpu'}, ${os.platform()} ${os.release()}\n`,
);
await primeCompileCache(selected);
const reports: ScenarioReport[] = [];
for (const file of selected) {
  process.stdout.write(`running ${file} ...\n`);
  reports.push(await runOne(file));
}
process.stdout.write('\n' + renderTable(reports) + '\n');
for (const report of reports) if (report.error) process.stderr.write(`\n${report.id}: ${report.error}\n`);
process.exitCode = reports.some((report) => report.error) ? 1 : 0;
