/** Runs a command to its end and times it from spawn to exit, with a hard kill past a limit. */
import { spawn } from 'node:child_process';

export interface TimedRun {
  readonly wallMs: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTimed(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  limitMs: number,
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    let wallMs = 0;
    child.on('error', (error) => {
      clearTimeout(killer);
      reject(error);
    });
    child.on('exit', () => {
      wallMs = performance.now() - started;
    });
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      if (signal === 'SIGKILL') reject(new Error(`${command} ${args.join(' ')} killed after ${limitMs} ms\n${stderr}`));
      else resolve({ wallMs, code, stdout, stderr });
    });
  });
}
