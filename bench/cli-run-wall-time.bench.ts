/**
 * Scenario (b), issue 3: one whole `orchestrate` run as a user starts it, timed from spawn to
 * exit (process start included), with the agent writing its handoff 200 ms after the POST.
 * The reference script runs the same way on the same fake gateway, the runs interleaved so
 * both see the same machine load; the target is a fraction of the reference's median.
 *
 * Beside the whole run, where its time goes: spawn → the gateway admits the POST (Node's
 * start, module loading, config, health probe, watcher), POST → exit (the agent's 200 ms,
 * seeing the handoff, printing, exiting), and the fixed costs measured on their own.
 */
import path from 'node:path';
import { startGatewayHost, type GatewayHost } from './lib/gateway-host.ts';
import { referenceCommand, referenceEnv, referenceUnavailable } from './lib/reference-script.ts';
import { runScenario } from './lib/scenario.ts';
import { median } from './lib/stats.ts';
import { runTimed, type TimedRun } from './lib/timed-process.ts';
import { createWorkspace, REPO_ROOT, type Workspace } from './lib/workspace.ts';

const AGENT = 'webster';
const AGENT_DELAY_MS = 200;
const WARM_UP = 2;
const RUNS = 9;
const RUN_LIMIT_MS = 20_000;
/** Our whole run must take at most this share of the reference's. */
const TARGET_SHARE_OF_REFERENCE = 0.7;
/** The bin as package.json declares it: the plain-JS launcher that enables the compile cache first. */
const BIN = path.join(REPO_ROOT, 'src/cli/orchestrate.mjs');

function cliEnv(workspace: Workspace): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: process.env.HOME,
    ...workspace.env,
  };
}

function check(run: TimedRun, what: string): TimedRun {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}: ${run.stderr}${run.stdout}`);
  const status = (JSON.parse(run.stdout) as { status?: string }).status;
  if (status !== 'complete') throw new Error(`${what} ended ${status}`);
  return run;
}

function runArgs(runId: string): string[] {
  return [AGENT, 'bench: one whole run', '--run-id', runId, '--timeout', '30', '--no-deliver'];
}

interface CliSample {
  readonly wallMs: number;
  /** Spawn → the gateway admitted the POST (heard over IPC from the gateway host, < 1 ms late). */
  readonly toPostMs: number;
}

/** Executed directly, as an installed bin is (its shebang finds this Node first on PATH, as npm's shims do). */
async function cliRun(workspace: Workspace, host: GatewayHost, runId: string): Promise<CliSample> {
  const started = performance.now();
  const posted = host.nextRun(runId).then(() => performance.now());
  const run = check(await runTimed(BIN, runArgs(runId), cliEnv(workspace), RUN_LIMIT_MS), `orchestrate ${runId}`);
  return { wallMs: run.wallMs, toPostMs: (await posted) - started };
}

async function referenceRun(workspace: Workspace, runId: string): Promise<number> {
  const { command, args } = referenceCommand(runArgs(runId));
  return check(await runTimed(command, args, referenceEnv(workspace), RUN_LIMIT_MS), `orchestrate.py ${runId}`).wallMs;
}

async function wallOf(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return (await runTimed(command, args, env, RUN_LIMIT_MS)).wallMs;
}

await runScenario({
  id: 'b CLI run',
  issue: 3,
  title: 'one whole CLI run, process start included',
  method: `\`src/cli/orchestrate.mjs ${AGENT} <task> --no-deliver\` executed as the package's bin (Node first on PATH, as npm runs it) spawned from this process with HQ_CONFIG at a temp config, timed spawn → exit; a fake gateway (separate process) writes a valid handoff ${AGENT_DELAY_MS} ms after the POST (renamed into place); ${WARM_UP} warm-up runs (Node's compile cache), then ${RUNS} rounds interleaving the bin (running the sources), \`python3 orchestrate.py\` (shim on PYTHONPATH, SEED_* at the same gateway through a registry file), a refused run (every module loaded, config read, bad run id: no I/O), \`--help\` and a bare \`node -e 0\`; medians; "spawn → POST admitted" is when the gateway host reported the run, "POST → exit" the rest; the ratio is against the reference's median, the target ${TARGET_SHARE_OF_REFERENCE} of it`,
  limitMs: 180_000,
  async run() {
    const host = await startGatewayHost({
      agents: [AGENT],
      script: { respond: 'admit', agent: { write: 'valid', afterMs: AGENT_DELAY_MS } },
    });
    const workspace = createWorkspace('b', { agents: host.ports });
    try {
      const unavailable = referenceUnavailable();
      if (unavailable) process.stderr.write(`reference not measured, so no target either: ${unavailable}\n`);
      const env = cliEnv(workspace);
      for (let i = 0; i < WARM_UP; i += 1) await cliRun(workspace, host, `bench-b-warm-${i}`);
      const samples = {
        bin: [] as number[],
        toPost: [] as number[],
        afterPost: [] as number[],
        reference: [] as number[],
        refused: [] as number[],
        help: [] as number[],
        node: [] as number[],
      };
      for (let i = 0; i < RUNS; i += 1) {
        const run = await cliRun(workspace, host, `bench-b-${i}`);
        samples.bin.push(run.wallMs);
        samples.toPost.push(run.toPostMs);
        samples.afterPost.push(run.wallMs - run.toPostMs);
        if (unavailable === undefined) samples.reference.push(await referenceRun(workspace, `bench-b-ref-${i}`));
        samples.refused.push(await wallOf(BIN, [AGENT, 'x', '--run-id', '../refused'], env));
        samples.help.push(await wallOf(BIN, ['--help'], env));
        samples.node.push(await wallOf(process.execPath, ['-e', '0'], env));
      }
      if (process.env.BENCH_VERBOSE) {
        for (const [name, values] of Object.entries(samples))
          process.stderr.write(`${name} ${values.map((v) => v.toFixed(0)).join(' ')}\n`);
      }
      const reference = median(samples.reference) / 1_000;
      const beside =
        samples.reference.length > 0 ? { reference, target: { max: TARGET_SHARE_OF_REFERENCE * reference } } : {};
      return [
        { metric: 'whole run, orchestrate (bin)', value: median(samples.bin) / 1_000, unit: 's', ...beside },
        { metric: '  spawn → POST admitted', value: median(samples.toPost) / 1_000, unit: 's' },
        { metric: '  POST → exit', value: median(samples.afterPost) / 1_000, unit: 's' },
        { metric: '    of which the agent delay', value: AGENT_DELAY_MS / 1_000, unit: 's' },
        { metric: '  start, load all, refuse', value: median(samples.refused) / 1_000, unit: 's' },
        { metric: '  start, --help only', value: median(samples.help) / 1_000, unit: 's' },
        { metric: '  bare `node -e 0`', value: median(samples.node) / 1_000, unit: 's' },
      ];
    } finally {
      await host.stop();
      workspace.dispose();
    }
  },
});
