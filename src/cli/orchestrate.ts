#!/usr/bin/env node
/**
 * `orchestrate <agent> "<task>" [options]`: the reference orchestrate.py's interface on the
 * in-process engine. This file only sets the process up; src/cli/run-cli.ts does the work.
 * It stays tiny and loads the rest dynamically so Node's compile cache (enabled first) covers
 * every module after it: a warm start is what keeps a whole run near a third of a second.
 */
import module from 'node:module';
import v8 from 'node:v8';

module.enableCompileCache?.();

/**
 * undici parses HTTP with WebAssembly; after a couple of requests V8 starts optimising that
 * parser on a background thread, and process exit waits for the compile to finish (~0.1 s).
 * A CLI run makes a handful of requests: the baseline code is plenty, so the tier-up budget is
 * made unreachable. Set at run time, not on the command line: any V8 flag changes V8's flag
 * hash, and code compiled after that no longer matches the code caches (Node's built-ins,
 * the compile cache), so it is set once the modules on the way to the POST are loaded (the
 * ones loaded after it, chokidar's and pino's chunks, were checked with
 * NODE_DEBUG_NATIVE=COMPILE_CACHE to still take their cache). The budget is read when undici
 * instantiates its parser, on the first connection, which comes after.
 */
function slowWasmTierUp(): void {
  v8.setFlagsFromString('--wasm-tiering-budget=2000000000');
}

const { runCli } = await import('./run-cli.ts');

const controller = new AbortController();
let interrupted = false;
const onSignal = (signal: NodeJS.Signals): void => {
  // First signal: cancel the run and still print its (cancelled) result. Second: leave now.
  if (interrupted) process.exit(signal === 'SIGINT' ? 130 : 143);
  interrupted = true;
  controller.abort(new Error(`received ${signal}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** Closing waits at most this long: the result is already printed, the exit code decided. */
const CLOSE_GRACE_MS = 2_000;

let exitCode = 1;
try {
  const outcome = await runCli({ argv: process.argv.slice(2), env: process.env, signal: controller.signal, beforeRun: slowWasmTierUp });
  if (outcome.stdout) process.stdout.write(outcome.stdout);
  if (outcome.stderr) process.stderr.write(outcome.stderr);
  exitCode = outcome.exitCode;
  await Promise.race([outcome.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
} catch (error) {
  // A bug, not an outcome: say so on stderr, without a stack trace's worth of noise on stdout.
  process.stderr.write(`orchestrate: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  exitCode = 1;
}
process.exit(exitCode);
