/**
 * The image the Dockerfile describes, checked without Docker (no engine here or in CI): the
 * Dockerfile is parsed, its runtime stage's files are rebuilt in a temp dir exactly as its COPY
 * lines say (node_modules from the deps stage's own `npm ci`, from the npm cache), and the bot
 * is started there with the image's CMD, ENV and WORKDIR against the fake Discord, then probed
 * with the image's own HEALTHCHECK command. A file the bot needs but the image lacks, a
 * devDependency imported at run time, a wrong CMD path, or a HEALTHCHECK on another port than
 * the ops server's default each fail here.
 *
 * What it cannot see: the base image itself (the machine's Node 24 stands in for it, and PATH
 * holds nothing else, as the slim image has no curl or wget), and file ownership (the test runs
 * as whoever runs it; the chown to the USER is checked from the RUN lines instead).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { configFileSchema, parseConfigFile } from '../src/config.ts';
import { FakeDiscord } from './fakes/fake-discord/index.ts';
import { discordSettings, seedGuild } from './support/bot-world.ts';
import {
  NpmUnavailable,
  parseDockerfile,
  reproduceStage,
  summarizeStage,
  type HealthCheck,
  type StageLayout,
} from './support/dockerfile.ts';

const REPO = path.resolve(import.meta.dirname, '..');
/** What the README tells operators to copy and mount at the image's HQ_CONFIG. */
const IMAGE_CONFIG = path.join(REPO, 'hq-delegate.config.docker.json');
const NODE_DIR = path.dirname(process.execPath);

const dockerfile = parseDockerfile(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'));
// `docker build` without --target builds the last stage.
const runtime = dockerfile.stages.at(-1)!;
const image = summarizeStage(dockerfile, runtime);

function within(child: string, parent: string): boolean {
  const relative = path.posix.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.posix.isAbsolute(relative));
}

/** The image's config file as the bot inside the container reads it (paths resolved there). */
function containerConfig(): {
  readonly path: string;
  readonly text: string;
  readonly file: ReturnType<typeof parseConfigFile>;
} {
  assert.ok(image.env.HQ_CONFIG, 'the runtime stage sets HQ_CONFIG (the README mounts the config file there)');
  const configPath = path.posix.resolve(image.workdir, image.env.HQ_CONFIG);
  const text = readFileSync(IMAGE_CONFIG, 'utf8');
  return { path: configPath, text, file: parseConfigFile(text, configPath) };
}

test('the Dockerfile: more than one stage, all on node:24, a non-root USER, a HEALTHCHECK, a CMD, and VOLUMEs holding the state, handoff and log dirs', () => {
  assert.ok(dockerfile.stages.length > 1, 'multi-stage');
  for (const stage of dockerfile.stages) {
    const base = dockerfile.baseImage(stage).replace(/^(docker\.io\/)?(library\/)?/, '');
    assert.match(base, /^node:24(?:$|[-.@])/, `stage ${stage.name ?? stage.index} is on Node 24`);
  }
  assert.ok(image.user !== undefined, 'the runtime stage sets USER');
  assert.ok(!['root', '0'].includes(image.user.split(':')[0]!), `USER ${image.user} is not root`);
  assert.ok(image.healthcheck, 'the runtime stage has a HEALTHCHECK');
  assert.ok(image.cmd && image.cmd.length > 0, 'the runtime stage has a CMD');

  const config = containerConfig();
  const withoutFile = configFileSchema.parse({}).paths;
  for (const key of ['stateDir', 'handoffDir', 'logDir'] as const) {
    const mounted = config.file.paths[key];
    assert.ok(
      image.volumes.some((volume) => within(mounted, volume)),
      `${key} ${mounted} (config at ${config.path}) is in a VOLUME: ${image.volumes.join(', ')}`,
    );
    // No config file mounted: main reads the defaults relative to the working directory.
    const fallback = path.posix.resolve(image.workdir, withoutFile[key]);
    assert.ok(
      image.volumes.some((volume) => within(fallback, volume)),
      `${key} ${fallback} (no config file) is in a VOLUME: ${image.volumes.join(', ')}`,
    );
  }
  // The runtime test below runs without an `ops` section; the documented config must agree with that default.
  assert.deepEqual(
    config.file.ops,
    configFileSchema.parse({}).ops,
    `${path.basename(IMAGE_CONFIG)} keeps the ops server where the HEALTHCHECK looks`,
  );
});

/** The README's `docker run` line, continuations joined, as words (quotes removed, `$PWD` left as written). */
function readmeDockerRun(): string[] {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8').replace(/\\\n\s*/g, ' ');
  const line = readme.split('\n').find((candidate) => /^\s*docker run\s/.test(candidate));
  assert.ok(line, 'the README shows a `docker run` line');
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? match[3]!);
}

test("the README's docker run line mounts the config file at the image's HQ_CONFIG and something at every VOLUME", () => {
  const words = readmeDockerRun();
  const targets = words.flatMap((word, index) =>
    word === '-v' || word === '--volume' ? [words[index + 1]!.split(':')[1]!] : [],
  );
  assert.ok(targets.includes(containerConfig().path), `a -v onto ${containerConfig().path}: ${targets.join(', ')}`);
  for (const volume of image.volumes)
    assert.ok(targets.includes(volume), `a -v onto VOLUME ${volume}: ${targets.join(', ')}`);
});

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The HEALTHCHECK's argv as Docker runs it in the container: WORKDIR, the image's env, its timeout. */
function healthcheck(
  check: HealthCheck,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ readonly code: number | null; readonly output: string }> {
  return new Promise((resolve) => {
    const child = spawn(check.argv[0]!, check.argv.slice(1), {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: check.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    // A command the image lacks: Docker counts the probe as failed.
    child.once('error', (error) => resolve({ code: 127, output: error.message }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Whether the ops server's default address is free: otherwise the probes would reach some other process. */
async function portFree(host: string, port: number): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  } catch {
    return false;
  }
  await new Promise((resolve) => server.close(resolve));
  return true;
}

/** Who owns a container path after the stage's RUN/COPY lines: the last chown/mkdir that covers it. */
function ownerOf(layout: StageLayout, containerPath: string): string {
  let owner = 'root';
  for (const entry of layout.ownership) {
    if (entry.path === containerPath || (entry.recursive && within(containerPath, entry.path))) owner = entry.owner;
  }
  return owner;
}

test(
  'the runtime stage rebuilt from the Dockerfile: its CMD starts the bot, its HEALTHCHECK fails before, passes once ready and fails after, SIGTERM exits 0',
  { timeout: 240_000 },
  async (t) => {
    const teardown: (() => unknown)[] = [];
    t.after(async () => {
      for (const step of teardown.reverse()) await step();
    });
    const check = image.healthcheck;
    const argv = [...(image.entrypoint ?? []), ...(image.cmd ?? [])];
    assert.ok(check && argv.length > 0, 'a HEALTHCHECK and a CMD (see the test above)');
    const ops = configFileSchema.parse({}).ops;
    if (!(await portFree(ops.host, ops.port))) {
      t.skip(
        `${ops.host}:${ops.port} (the ops server's default, where the HEALTHCHECK looks) is taken by another process`,
      );
      return;
    }

    const scratch = await mkdtemp(path.join(os.tmpdir(), 'hq-dockerfile-'));
    teardown.push(() => rm(scratch, { recursive: true, force: true }));
    let layout: StageLayout;
    try {
      layout = await reproduceStage(runtime, { dockerfile, context: REPO, scratch, nodeDir: NODE_DIR });
    } catch (error) {
      if (!(error instanceof NpmUnavailable)) throw error;
      t.skip(`npm cannot install the dependencies offline: ${error.message}`);
      return;
    }
    const user = image.user!.split(':')[0]!;
    for (const volume of image.volumes) {
      assert.equal(
        ownerOf(layout, volume),
        user,
        `VOLUME ${volume} belongs to USER ${user}, who writes there (a named volume starts with the image's ownership)`,
      );
    }

    const fake = await FakeDiscord.start({ heartbeatIntervalMs: 30_000, defaultTimeoutMs: 30_000 });
    teardown.push(() => fake.close());
    const { guild, roles, users } = seedGuild(fake);

    // The documented config, with container paths mapped into the temp root (a volume or bind
    // mount there), the fake Discord, and no `ops` section: the HEALTHCHECK must find the default.
    const config = containerConfig();
    const raw = JSON.parse(config.text) as Record<string, unknown>;
    delete raw.ops;
    const paths = Object.fromEntries(
      Object.entries(config.file.paths).map(([key, value]) => [key, layout.hostPath(value)]),
    );
    const configFile = { ...raw, paths, discord: discordSettings(fake, guild, roles, users) };
    const configPath = layout.hostPath(config.path);
    await mkdir(path.dirname(configPath), { recursive: true });
    await writeFile(configPath, JSON.stringify(configFile, null, 2));
    for (const volume of image.volumes) await mkdir(layout.hostPath(volume), { recursive: true });

    // The container's environment: the image's ENV (paths mapped), PATH with Node only, and what
    // `docker run --env-file .env` adds. Nothing from this shell.
    const env: NodeJS.ProcessEnv = {
      ...Object.fromEntries(
        Object.entries(image.env).map(([key, value]) => [key, value.startsWith('/') ? layout.hostPath(value) : value]),
      ),
      PATH: NODE_DIR,
      DISCORD_TOKEN: fake.token,
    };
    const cwd = layout.hostPath(image.workdir);

    const before = await healthcheck(check, cwd, env);
    assert.notEqual(before.code, 0, 'the HEALTHCHECK fails while no bot runs');

    const started = performance.now();
    const bot: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let running = false;
    const onOutput = (chunk: string): void => {
      log = (log + chunk).slice(-8_000);
      running ||= log.includes('"msg":"hq-delegate is running"');
    };
    bot.stdout!.setEncoding('utf8').on('data', onOutput);
    bot.stderr!.setEncoding('utf8').on('data', onOutput);
    let exit: Exit | undefined;
    const exited = new Promise<Exit>((resolve) =>
      bot.once('exit', (code, signal) => resolve((exit = { code, signal }))),
    );
    teardown.push(async () => {
      if (!exit) bot.kill('SIGKILL');
      await exited;
    });

    // Docker calls the container unhealthy once the start period and `retries` probes have failed;
    // a bot that says it is running gets `retries` probes to pass, not the whole start period.
    const budgetMs = check.startPeriodMs + check.intervalMs * check.retries;
    let failedSinceRunning = 0;
    let probe = await healthcheck(check, cwd, env);
    while (probe.code !== 0) {
      assert.equal(
        exit,
        undefined,
        `the bot exited (${exit?.code ?? exit?.signal}) before the HEALTHCHECK passed:\n${log}`,
      );
      assert.ok(
        performance.now() - started < budgetMs,
        `the HEALTHCHECK still fails after ${budgetMs} ms (${probe.code}: ${probe.output}):\n${log}`,
      );
      if (running) failedSinceRunning += 1;
      assert.ok(
        failedSinceRunning < check.retries,
        `the bot is running but the HEALTHCHECK failed ${failedSinceRunning} times (${probe.code}: ${probe.output}):\n${log}`,
      );
      await delay(250);
      probe = await healthcheck(check, cwd, env);
    }
    t.diagnostic(`healthy ${Math.round(performance.now() - started)} ms after start`);

    const stateDir = paths.stateDir!;
    assert.ok(
      (await readdir(stateDir)).some((name) => name.endsWith('.sqlite')),
      `the run store is in the state volume (${stateDir})`,
    );

    bot.kill('SIGTERM');
    const stopped = await exited;
    assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM exits 0:\n${log}`);
    const after = await healthcheck(check, cwd, env);
    assert.notEqual(after.code, 0, 'the HEALTHCHECK fails once the bot has stopped');
  },
);
