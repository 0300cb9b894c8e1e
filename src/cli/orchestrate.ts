#!/usr/bin/env node
/**
 * `orchestrate <agent> "<task>" [options]`: the reference orchestrate.py's interface on the
 * in-process engine. This file only sets the process up (signals, exit); run-cli.ts does the work.
 */
import { runCli } from './run-cli.ts';

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

let exitCode: number;
try {
  const outcome = await runCli({ argv: process.argv.slice(2), env: process.env, signal: controller.signal });
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
