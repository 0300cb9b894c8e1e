/**
 * A throwaway PostgreSQL cluster for the tests and the bench: `initdb` into a temp directory, one
 * `postgres` on a free loopback port, stopped and deleted afterwards. PostgreSQL refuses to run as
 * root, so when the tests run as root (CI containers) the cluster belongs to `nobody`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgCluster {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Kept out of the URLs, as in production: the store reads it from the environment. */
  readonly password: string;
  /** `postgres://user@127.0.0.1:port/<name>` for a fresh database made by `createDatabase`. */
  createDatabase(name?: string): Promise<string>;
  /** Runs one statement as the superuser against `database` (default `postgres`). */
  query(sql: string, database?: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

export interface PgClusterOptions {
  /** Durable writes (fsync on). Off by default: the tests do not survive a power cut anyway. */
  readonly durable?: boolean;
}

const USER = 'hq';

/** Where the server binaries are: HQ_PG_BINDIR, Debian's versioned directory, or the PATH. */
export function findPgBinDir(): string | undefined {
  const fromEnv = process.env['HQ_PG_BINDIR'];
  if (fromEnv !== undefined && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(debian, version, 'bin');
      if (existsSync(join(dir, 'initdb'))) return dir;
    }
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return found === '' ? undefined : join(found, '..');
}

/**
 * Why the PostgreSQL tests skip here, or undefined when they run. `.ci/run` installs PostgreSQL and
 * sets HQ_REQUIRE_PG=1, so in CI a missing server fails the tests instead of skipping them.
 */
export function pgSkipReason(): string | undefined {
  if (process.env['HQ_REQUIRE_PG'] === '1' || findPgBinDir() !== undefined) return undefined;
  return 'no PostgreSQL server binaries here (Debian package postgresql); .ci/run installs them';
}

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const binDir = findPgBinDir();
  if (binDir === undefined) throw new Error('no PostgreSQL server binaries: install the Debian package postgresql');
  const root = mkdtempSync(join(tmpdir(), 'hq-pg-'));
  const dataDir = join(root, 'data');
  const password = randomBytes(12).toString('hex');
  const pwFile = join(root, 'pw');
  writeFileSync(pwFile, password);
  const owner = process.getuid?.() === 0 ? nobody() : undefined;
  if (owner !== undefined) {
    chownSync(root, owner.uid, owner.gid);
    chownSync(pwFile, owner.uid, owner.gid);
  }
  chmodSync(root, 0o700);
  const asOwner = (command: string, args: string[]): [string, string[]] =>
    owner === undefined
      ? [command, args]
      : ['setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', command, ...args]];

  const [initCommand, initArgs] = asOwner(join(binDir, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    USER,
    `--pwfile=${pwFile}`,
    '--auth=scram-sha-256',
    '-E',
    'UTF8',
    '--no-instructions',
  ]);
  const init = spawnSync(initCommand, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);

  const port = await freePort();
  const settings = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `port=${port}`,
    '-c',
    `unix_socket_directories=${root}`,
    '-c',
    'max_connections=200',
    ...(options.durable === true
      ? []
      : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
  ];
  const [serverCommand, serverArgs] = asOwner(join(binDir, 'postgres'), ['-D', dataDir, ...settings]);
  const server = spawn(serverCommand, serverArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  await ready(server);

  const base = { host: '127.0.0.1', port, user: USER, password };
  const query = async (sql: string, database = 'postgres'): Promise<pg.QueryResult> => {
    const client = new pg.Client({ ...base, database });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let made = 0;
  return {
    ...base,
    query,
    async createDatabase(name = `hq_${process.pid}_${++made}`) {
      await query(`CREATE DATABASE "${name}"`);
      return `postgres://${USER}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGINT'); // fast shutdown: disconnects clients, no waiting for them
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function nobody(): { uid: number; gid: number } {
  const id = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('running as root and there is no user "nobody" to own the cluster');
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A loopback port free at the time of asking. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Resolves once the server logs that it accepts connections; rejects if it exits first. */
function ready(server: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('ready to accept connections')) {
        server.stderr?.off('data', onData);
        server.stderr?.resume(); // keep draining so the server never blocks on a full pipe
        resolve();
      }
    };
    server.stderr?.on('data', onData);
    server.once('exit', (code) => reject(new Error(`postgres exited (${code}) before it was ready:\n${log}`)));
  });
}
