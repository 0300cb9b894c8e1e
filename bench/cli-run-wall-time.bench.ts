/**
 * Scenario (b), issue 3: one whole `orchestrate` run as a user starts it, timed from spawn to
 * exit (process start included), with the agent writing its handoff 200 ms after the POST.
 * The reference script runs the same way on the same fake gateway, the runs interleaved so
 * both see the same machine load.
 */
import path from 'node:path';
import { startGatewayHost } from './lib/gateway-host.ts';
import { referenceCommand, referenceEnv, referenceUnavailable } from './lib/reference-script.ts';
import { runScenario } from './lib/scenario.ts';
import { median } from './lib/stats.ts';
import { runTimed, type TimedRun } from './lib/timed-process.ts';
import { createWorkspace, REPO_ROOT, type Workspace } from './lib/workspace.ts';

const AGENT = 'webster';
const AGENT_DELAY_MS = 200;
const WARM_UP = 2;
const RUNS = 7;
const RUN_LIMIT_MS = 20_000;
/** The bin as package.json declares it, and the plain-JS launcher that enables the compile cache first. */
const ENTRIES = {
  ts: path.join(REPO_ROOT, 'src/cli/orchestrate.ts'),
  mjs: path.join(REPO_ROOT, 'src/cli/orchestrate.mjs'),
} as const;
type Entry = keyof typeof ENTRIES;

function cliEnv(workspace: Workspace): NodeJS.ProcessEnv {
  return { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, HOME: process.env.HOME, ...workspace.env };
}

function check(run: TimedRun, what: string): TimedRun {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}: ${run.stderr}${run.stdout}`);
  const status = (JSON.parse(run.stdout) as { status?: string }).status;
  if (status !== 'complete') throw new Error(`${what} ended ${status}`);
  return run;
}

/**
 * `ts` as `node src/cli/orchestrate.ts` (the npm script); `mjs` executed directly, as an
 * installed bin is, so its shebang's flags apply (with this Node first on PATH, as npm does).
 */
function cliCommand(entry: Entry, args: readonly string[]): { command: string; args: string[] } {
  return entry === 'ts' ? { command: process.execPath, args: [ENTRIES.ts, ...args] } : { command: ENTRIES.mjs, args: [...args] };
}

async function cliRun(workspace: Workspace, entry: Entry, runId: string): Promise<number> {
  const { command, args } = cliCommand(entry, [AGENT, 'bench: one whole run', '--run-id', runId, '--timeout', '30', '--no-deliver']);
  return check(await runTimed(command, args, cliEnv(workspace), RUN_LIMIT_MS), `orchestrate ${runId}`).wallMs;
}

async function referenceRun(workspace: Workspace, runId: string): Promise<number> {
  const { command, args } = referenceCommand([AGENT, 'bench: one whole run', '--run-id', runId, '--timeout', '30', '--no-deliver']);
  return check(await runTimed(command, args, referenceEnv(workspace), RUN_LIMIT_MS), `orchestrate.py ${runId}`).wallMs;
}

await runScenario({
  id: 'b CLI run',
  issue: 3,
  title: 'one whole CLI run, process start included',
  method: `\`node src/cli/orchestrate.ts ${AGENT} <task> --no-deliver\` and \`src/cli/orchestrate.mjs …\` executed as a bin (its shebang's flags apply) spawned from this process with HQ_CONFIG at a temp config, timed spawn → exit; a fake gateway (separate process) writes a valid handoff ${AGENT_DELAY_MS} ms after the POST (renamed into place); ${WARM_UP} warm-up runs each (Node's compile cache), then ${RUNS} rounds interleaving both entries and \`python3 orchestrate.py\` (shim on PYTHONPATH, SEED_* at the same gateway through a registry file); medians; the ratio is against the reference's median`,
  limitMs: 180_000,
  async run() {
    const host = await startGatewayHost({ agents: [AGENT], script: { respond: 'admit', agent: { write: 'valid', afterMs: AGENT_DELAY_MS } } });
    const workspace = createWorkspace('b', { agents: host.ports });
    try {
      const unavailable = referenceUnavailable();
      if (unavailable) process.stderr.write(`reference not measured: ${unavailable}\n`);
      for (let i = 0; i < WARM_UP; i += 1) {
        await cliRun(workspace, 'ts', `bench-b-warm-ts-${i}`);
        await cliRun(workspace, 'mjs', `bench-b-warm-mjs-${i}`);
      }
      const samples = { ts: [] as number[], mjs: [] as number[], reference: [] as number[], refused: [] as number[], help: [] as number[] };
      for (let i = 0; i < RUNS; i += 1) {
        samples.ts.push(await cliRun(workspace, 'ts', `bench-b-ts-${i}`));
        samples.mjs.push(await cliRun(workspace, 'mjs', `bench-b-mjs-${i}`));
        if (unavailable === undefined) samples.reference.push(await referenceRun(workspace, `bench-b-ref-${i}`));
        // Every module loaded, config read, then refused before any I/O: the fixed cost of a run.
        const refused = cliCommand('mjs', [AGENT, 'x', '--run-id', '../refused']);
        samples.refused.push((await runTimed(refused.command, refused.args, cliEnv(workspace), RUN_LIMIT_MS)).wallMs);
        const help = cliCommand('mjs', ['--help']);
        samples.help.push((await runTimed(help.command, help.args, cliEnv(workspace), RUN_LIMIT_MS)).wallMs);
      }
      if (process.env.BENCH_VERBOSE) {
        for (const [name, values] of Object.entries(samples)) process.stderr.write(`${name} ${values.map((v) => v.toFixed(0)).join(' ')}\n`);
      }
      const reference = samples.reference.length > 0 ? { reference: median(samples.reference) / 1_000 } : {};
      return [
        { metric: 'whole run, node orchestrate.ts', value: median(samples.ts) / 1_000, unit: 's', target: { max: 0.35 }, ...reference },
        { metric: 'whole run, orchestrate.mjs (bin)', value: median(samples.mjs) / 1_000, unit: 's', target: { max: 0.35 }, ...reference },
        { metric: '  agent delay in each run', value: AGENT_DELAY_MS / 1_000, unit: 's' },
        { metric: '  start, load all, refuse (.mjs)', value: median(samples.refused) / 1_000, unit: 's' },
        { metric: '  start, --help only (.mjs)', value: median(samples.help) / 1_000, unit: 's' },
      ];
    } finally {
      await host.stop();
      workspace.dispose();
    }
  },
});
