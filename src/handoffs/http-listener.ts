/**
 * The handoff listener: `PUT /v1/handoffs/<runId>` with `Authorization: Bearer <token>` hands
 * the body to the run as its handoff text (engine/http-handoffs.ts judges who may). It may face
 * other hosts (behind a TLS reverse proxy, see the README), so it is apart from the loopback ops
 * server, reads no body before the token is known good, never more than the handoff cap, and
 * throttles an address that keeps presenting bad tokens. No token is ever logged.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HandoffReceiver } from '../engine/http-handoffs.ts';
import { ErrorCode, HqError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createFailureThrottle, type FailureThrottle } from './failure-throttle.ts';

const ROUTE = /^\/v1\/handoffs\/([^/]+)$/;
/** A client still sending a refused body after the answer is cut off after this. */
const DRAIN_LIMIT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;

export interface HandoffListenerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly receiver: HandoffReceiver;
  /** The engine's maxHandoffBytes: a body over it is refused (413). */
  readonly maxBytes: number;
  readonly log: Logger;
  /** Behind a reverse proxy: count bad tokens by the address it appends to X-Forwarded-For. */
  readonly trustProxy?: boolean;
  readonly throttle?: FailureThrottle;
}

export interface HandoffListener {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

const answers = {
  notFound: { status: 404, body: { ok: false, error: 'no run waits for a handoff here' } },
  unauthorized: {
    status: 401,
    body: { ok: false, error: 'missing or wrong bearer token' },
    headers: { 'www-authenticate': 'Bearer' },
  },
  used: { status: 409, body: { ok: false, error: 'this token was already used for an accepted handoff' } },
  malformed: { status: 400, body: { ok: false, error: 'the body is not JSON' } },
} as const satisfies Record<string, Answer>;

function send(req: IncomingMessage, res: ServerResponse, answer: Answer): void {
  const text = `${JSON.stringify(answer.body)}\n`;
  // A body not read to its end is not read at all: the connection closes after the answer.
  const unread = !req.complete;
  res.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...(unread ? { connection: 'close' } : {}),
    ...answer.headers,
  });
  res.end(text);
  if (unread) res.once('finish', () => setTimeout(() => req.socket.destroy(), DRAIN_LIMIT_MS).unref());
}

function bearerOf(header: string | undefined): string | undefined {
  const token = /^bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  return token === undefined || token === '' ? undefined : token;
}

/** Undefined once the body passes maxBytes: the rest is not read. */
async function readCapped(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startHandoffListener(options: HandoffListenerOptions): Promise<HandoffListener> {
  const { receiver, maxBytes, log } = options;
  const throttle = options.throttle ?? createFailureThrottle();

  function clientOf(req: IncomingMessage): string {
    const forwarded = options.trustProxy ? req.headers['x-forwarded-for'] : undefined;
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').at(-1)?.trim();
    return last || req.socket.remoteAddress || 'unknown';
  }

  async function handle(req: IncomingMessage): Promise<Answer> {
    const route = ROUTE.exec(new URL(req.url ?? '/', 'http://listener.invalid').pathname);
    if (route === null) return answers.notFound;
    if (req.method !== 'PUT')
      return { status: 405, body: { ok: false, error: 'use PUT' }, headers: { allow: 'PUT' } };
    let runId: string;
    try {
      runId = decodeURIComponent(route[1]!);
    } catch {
      return answers.notFound;
    }
    const client = clientOf(req);
    const waitSeconds = throttle.retryAfterSeconds(client);
    if (waitSeconds > 0) {
      const body = { ok: false, error: 'too many bad tokens from this address; try again later' };
      return { status: 429, body, headers: { 'retry-after': String(waitSeconds) } };
    }
    const token = bearerOf(req.headers.authorization);
    const check = await receiver.check(runId, token);
    if (check !== 'ok') {
      if (check === 'unauthorized') {
        throttle.recordFailure(client);
        log.warn({ runId, client }, 'handoff PUT refused: missing or wrong bearer token');
        return answers.unauthorized;
      }
      return check === 'already-used' ? answers.used : answers.notFound;
    }
    const tooLarge: Answer = { status: 413, body: { ok: false, error: `the body is over ${maxBytes} bytes` } };
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) return tooLarge;
    const text = await readCapped(req, maxBytes);
    if (text === undefined) return tooLarge;
    const receipt = await receiver.receive(runId, token, text);
    switch (receipt) {
      case 'accepted':
        return { status: 202, body: { ok: true, runId } };
      case 'malformed':
        return answers.malformed;
      case 'already-used':
        return answers.used;
      case 'unauthorized':
        return answers.unauthorized;
      default:
        return answers.notFound;
    }
  }

  const server = createServer((req, res) => {
    handle(req).then(
      (answer) => send(req, res, answer),
      (error: unknown) => {
        log.error({ err: error }, 'handoff request failed');
        if (res.headersSent) res.destroy();
        else send(req, res, { status: 500, body: { ok: false, error: 'internal error' } });
      },
    );
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${options.host}:${options.port}`;
      const why = error.code ?? error.message;
      reject(
        new HqError(ErrorCode.CONFIG_INVALID, `handoffListener: cannot listen on ${where} (${why})`, { cause: error }),
      );
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ err: error }, 'handoff listener error'));
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info({ url }, 'handoff listener listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
