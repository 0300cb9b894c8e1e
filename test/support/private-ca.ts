/**
 * A private CA and a server certificate for 127.0.0.1, made with the `openssl` CLI in a temp
 * dir at test time (nothing secret is committed). CI installs openssl (.ci/run).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface PrivateCa {
  /** PEM file of the CA's certificate: what the bot is given as `ca`. */
  readonly caFile: string;
  /** PEM key and certificate the gateway serves (signed by the CA, for IP 127.0.0.1). */
  readonly key: string;
  readonly cert: string;
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('these tests need the openssl CLI on PATH (apt-get install openssl); CI installs it in .ci/run', {
        cause: error,
      });
    throw error;
  }
}

export async function makePrivateCa(dir: string): Promise<PrivateCa> {
  const days = ['-days', '2'];
  await openssl(dir, [
    'req',
    '-x509',
    ...EC,
    ...days,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/CN=hq-delegate test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl(dir, ['req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  await writeFile(
    path.join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    ...days,
    '-out',
    'server.pem',
    '-extfile',
    'server.ext',
  ]);
  const [key, cert] = await Promise.all([
    readFile(path.join(dir, 'server.key'), 'utf8'),
    readFile(path.join(dir, 'server.pem'), 'utf8'),
  ]);
  return { caFile: path.join(dir, 'ca.pem'), key, cert };
}
