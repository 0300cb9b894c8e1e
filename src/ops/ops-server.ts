/**
 * The operator's window: `GET /healthz` (200 when every check passes, 503 naming what does not)
 * and `GET /metrics` (Prometheus text). Plain node:http on loopback by default; nothing here
 * changes state, so there is no auth, which is why a non-loopback host is worth a warning.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, HqError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Role } from './leadership.ts';

const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

interface CheckResult {
  readonly ok: boolean;
  readonly detail?: string;
}

/** May be async; may throw. */
export type HealthCheck = () => CheckResult | Promise<CheckResult>;

interface OpsServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly checks: Readonly<Record<string, HealthCheck>>;
  readonly metrics: { text(): Promise<string>; readonly contentType: string };
  readonly log: Logger;
  /** A check that has not answered by then counts as failing. */
  readonly checkTimeoutMs?: number;
  /** Reported as `role`; without it the process leads alone (the SQLite store). */
  readonly role?: () => Role;
}

export interface OpsServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** A check that only the leader can pass (Discord, the engine): a standby passes it, saying so. */
export function whenLeading(role: () => Role, check: HealthCheck): HealthCheck {
  return () => (role() === 'leader' ? check() : { ok: true, detail: 'standby: not leading' });
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(check), timeout]);
    return { ok: result.ok === true, ...(result.detail === undefined ? {} : { detail: String(result.detail) }) };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, headers);
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { checks, metrics, log } = options;
  const host = options.host ?? '127.0.0.1';
  const checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  // Log when health changes, not on every scrape of an unhealthy process.
  let lastHealthy: boolean | undefined;

  async function healthz(res: ServerResponse): Promise<void> {
    const entries = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check, checkTimeoutMs)] as const),
    );
    const results = Object.fromEntries(entries);
    const ok = entries.every(([, result]) => result.ok);
    if (ok !== lastHealthy) {
      const failing = Object.fromEntries(entries.filter(([, result]) => !result.ok));
      if (ok) log.info({ checks: results }, 'healthy');
      else log.warn({ failing }, 'unhealthy');
      lastHealthy = ok;
    }
    sendJson(res, ok ? 200 : 503, { ok, role: options.role?.() ?? 'leader', checks: results });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? '/', 'http://ops.invalid');
    const route = pathname === '/healthz' ? healthz : pathname === '/metrics' ? metricsText : undefined;
    if (route === undefined) return sendJson(res, 404, { ok: false, error: 'not found: try /healthz or /metrics' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { ok: false, error: 'method not allowed' }, { allow: 'GET, HEAD' });
    }
    await route(res);
  }

  async function metricsText(res: ServerResponse): Promise<void> {
    send(res, 200, metrics.contentType, await metrics.text());
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, 'ops request failed');
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'internal error' });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new HqError(
          ErrorCode.CONFIG_INVALID,
          `ops.host/ops.port: cannot listen on ${host}:${options.port} (${error.code ?? error.message})`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ err: error }, 'ops server error'));

  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (!LOOPBACK.has(host))
    log.warn({ host, port }, 'ops server listens beyond loopback; /healthz and /metrics have no auth');
  log.info({ url }, 'ops server listening');

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Scrapers hold keep-alive sockets; shutdown should not wait on them.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
