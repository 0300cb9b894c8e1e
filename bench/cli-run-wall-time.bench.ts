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
const CLI = path.join(REPO_ROOT, 'src/cli/orchestrate.ts');

function cliEnv(workspace: Workspace): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...workspace.env };
}

function check(run: TimedRun, what: string): TimedRun {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}: ${run.stderr}${run.stdout}`);
  const status = (JSON.parse(run.stdout) as { status?: string }).status;
  if (status !== 'complete') throw new Error(`${what} ended ${status}`);
  return run;
}

async function cliRun(workspace: Workspace, runId: string): Promise<number> {
  const args = [CLI, AGENT, 'bench: one whole run', '--run-id', runId, '--timeout', '30', '--no-deliver'];
  return check(await runTimed(process.execPath, args, cliEnv(workspace), RUN_LIMIT_MS), `orchestrate ${runId}`).wallMs;
}

async function referenceRun(workspace: Workspace, runId: string): Promise<number> {
  const { command, args } = referenceCommand([AGENT, 'bench: one whole run', '--run-id', runId, '--timeout', '30', '--no-deliver']);
  return check(await runTimed(command, args, referenceEnv(workspace), RUN_LIMIT_MS), `orchestrate.py ${runId}`).wallMs;
}

await runScenario({
  id: 'b CLI run',
  issue: 3,
  title: 'one whole CLI run, process start included',
  method: `\`node src/cli/orchestrate.ts ${AGENT} <task> --no-deliver\` spawned from this process with HQ_CONFIG at a temp config, timed spawn → exit; a fake gateway (separate process) writes a valid handoff ${AGENT_DELAY_MS} ms after the POST (renamed into place); ${WARM_UP} warm-up runs (Node's compile cache), then ${RUNS} runs interleaved with \`python3 orchestrate.py\` (shim on PYTHONPATH, SEED_* at the same gateway through a registry file); medians. "node start" is \`orchestrate --help\` alone`,
  limitMs: 180_000,
  async run() {
    const host = await startGatewayHost({ agents: [AGENT], script: { respond: 'admit', agent: { write: 'valid', afterMs: AGENT_DELAY_MS } } });
    const workspace = createWorkspace('b', { agents: host.ports });
    try {
      const unavailable = referenceUnavailable();
      if (unavailable) process.stderr.write(`reference not measured: ${unavailable}\n`);
      for (let i = 0; i < WARM_UP; i += 1) await cliRun(workspace, `bench-b-warm-${i}`);
      const ours: number[] = [];
      const theirs: number[] = [];
      const starts: number[] = [];
      for (let i = 0; i < RUNS; i += 1) {
        ours.push(await cliRun(workspace, `bench-b-${i}`));
        if (unavailable === undefined) theirs.push(await referenceRun(workspace, `bench-b-ref-${i}`));
        starts.push((await runTimed(process.execPath, [CLI, '--help'], cliEnv(workspace), RUN_LIMIT_MS)).wallMs);
      }
      if (process.env.BENCH_VERBOSE) process.stderr.write(`cli ${ours.map((v) => v.toFixed(0)).join(' ')}\nref ${theirs.map((v) => v.toFixed(0)).join(' ')}\n`);
      return [
        { metric: 'whole run wall time', value: median(ours) / 1_000, unit: 's', target: { max: 0.35 }, ...(theirs.length ? { reference: median(theirs) / 1_000 } : {}) },
        { metric: `  of which agent delay`, value: AGENT_DELAY_MS / 1_000, unit: 's' },
        { metric: '  node start + --help', value: median(starts) / 1_000, unit: 's' },
      ];
    } finally {
      await host.stop();
      workspace.dispose();
    }
  },
});
