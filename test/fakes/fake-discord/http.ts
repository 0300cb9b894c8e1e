/**
 * node:http front end: body decoding (JSON + multipart), auth, fault injection, rate limit
 * headers, request log, and the `/attachments/...` file download route.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DiscordHttpError, Errors } from './errors.ts';
import type { FailOptions, FaultInjector } from './faults.ts';
import type { RequestLogEntry, StoredFile } from './model.ts';
import { bucketHash as bucketOf, formatSeconds, type RateLimiter } from './ratelimit.ts';
import type { ParsedRequest, Router, UploadedFile } from './router.ts';

export const API_PREFIX = '/api/v10';
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface DownMode {
  /** `reset`: destroy REST connections; a number: answer with that status. */
  rest: 'reset' | number;
}

export interface HttpDeps {
  router: Router;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  token: () => string;
  down: () => DownMode | null;
  now: () => number;
  retryAfterHeader: 'exact' | 'ceil';
  nextSeq: () => number;
  onRequestStart: (entry: RequestLogEntry) => void;
  onRequestDone: (entry: RequestLogEntry) => void;
  /** Fault injected / rate limited responses, for observability. */
  onInjected: (entry: RequestLogEntry) => void;
  file: (attachmentId: string) => StoredFile | undefined;
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

class BodyError extends Error {
  readonly error: DiscordHttpError;
  constructor(error: DiscordHttpError) {
    super(error.message);
    this.error = error;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BodyError(Errors.entityTooLarge());
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

async function decodeBody(
  raw: Buffer,
  contentType: string | undefined,
): Promise<{ body: unknown; files: UploadedFile[] }> {
  if (raw.length === 0) return { body: undefined, files: [] };
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('multipart/form-data')) {
    let form: FormData;
    try {
      form = await new Response(raw, { headers: { 'content-type': contentType ?? '' } }).formData();
    } catch {
      throw new BodyError(Errors.invalidJson());
    }
    const files: UploadedFile[] = [];
    const fields: Record<string, unknown> = {};
    let payloadJson: unknown;
    for (const [field, value] of form) {
      if (typeof value === 'string') {
        if (field === 'payload_json') {
          try {
            payloadJson = JSON.parse(value);
          } catch {
            throw new BodyError(Errors.invalidJson());
          }
        } else fields[field] = value;
        continue;
      }
      const m = /^files\[(\d+)\]$/.exec(field);
      files.push({
        field,
        index: m ? Number(m[1]) : undefined,
        filename: value.name,
        contentType: value.type || undefined,
        data: Buffer.from(await value.arrayBuffer()),
      });
    }
    return { body: payloadJson ?? fields, files };
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')), files: [] };
  } catch {
    throw new BodyError(Errors.invalidJson());
  }
}

export class HttpFrontend {
  readonly server: Server;
  readonly #deps: HttpDeps;
  readonly #sockets = new Set<Socket>();

  constructor(deps: HttpDeps) {
    this.#deps = deps;
    this.server = createServer({ keepAlive: true }, (req, res) => {
      void this.#handle(req, res);
    });
    this.server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.server.on('upgrade', (req, socket, head) => deps.onUpgrade(req, socket, head));
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake.discord');
    const method = (req.method ?? 'GET').toUpperCase();

    if (url.pathname.startsWith('/attachments/')) {
      this.#serveAttachment(url.pathname, method, res);
      req.resume();
      return;
    }

    let raw: Buffer;
    let bodyError: DiscordHttpError | undefined;
    try {
      raw = await readBody(req);
    } catch (error) {
      raw = Buffer.alloc(0);
      bodyError = error instanceof BodyError ? error.error : Errors.invalidJson();
    }

    const inApi = url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`);
    const path = inApi ? url.pathname.slice(API_PREFIX.length) || '/' : url.pathname;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const entry: RequestLogEntry = {
      seq: this.#deps.nextSeq(),
      method,
      path,
      route: `${method} <unknown>`,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: undefined,
      files: [],
      time: this.#deps.now(),
      status: undefined,
      responseBody: undefined,
      injected: false,
    };
    let parsed: ParsedRequest = {
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      body: undefined,
      files: [],
    };
    if (!bodyError) {
      try {
        const decoded = await decodeBody(raw, req.headers['content-type']);
        parsed = { ...parsed, body: decoded.body, files: decoded.files };
        entry.body = decoded.body;
        entry.files = decoded.files.map((f) => ({
          field: f.field,
          filename: f.filename,
          contentType: f.contentType,
          size: f.data.length,
        }));
      } catch (error) {
        bodyError = error instanceof BodyError ? error.error : Errors.invalidJson();
      }
    }
    const match = inApi ? this.#deps.router.match(method, path) : ({ kind: 'not_found' } as const);
    if (match.kind === 'found') entry.route = match.template;
    this.#deps.onRequestStart(entry);

    const down = this.#deps.down();
    if (down) {
      entry.injected = true;
      if (down.rest === 'reset') {
        entry.status = 0;
        req.socket.destroy();
        this.#deps.onInjected(entry);
        this.#deps.onRequestDone(entry);
        return;
      }
      this.#send(res, entry, down.rest, { message: `${down.rest}: Service Unavailable`, code: 0 }, {});
      this.#deps.onInjected(entry);
      return;
    }

    const fault = this.#deps.faults.take(entry);
    if (fault && !fault.afterHandling) return this.#sendFault(req, res, entry, fault);

    if (match.kind === 'not_found') return this.#sendError(res, entry, Errors.notFound(), {});
    if (match.kind === 'method_not_allowed') return this.#sendError(res, entry, Errors.methodNotAllowed(), {});

    const { route, params, template } = match;
    if (route.auth && req.headers.authorization !== `Bot ${this.#deps.token()}`) {
      return this.#sendError(res, entry, Errors.unauthorized(), {});
    }

    const major = (route.major ?? []).map((k) => params[k] ?? '').join(':');
    const { state, limited } = this.#deps.rateLimiter.hit(`${template}|${major}`, template);
    const rlHeaders = this.#deps.rateLimiter.headers(state);
    if (limited) {
      const retryAfter = Math.max(0, state.resetAt - this.#deps.now()) / 1000;
      entry.injected = true;
      this.#deps.onInjected(entry);
      const body = {
        message: 'You are being rate limited.',
        retry_after: Number(retryAfter.toFixed(3)),
        global: false,
      };
      return this.#send(res, entry, 429, body, { ...rlHeaders, ...this.#retryHeaders(retryAfter, 'user', template) });
    }

    if (bodyError) return this.#sendError(res, entry, bodyError, rlHeaders);

    try {
      const result = await route.handler({ req: parsed, params, log: entry });
      if (fault) return this.#sendFault(req, res, entry, fault);
      this.#send(res, entry, result.status, result.body, { ...rlHeaders, ...result.headers });
    } catch (error) {
      if (error instanceof DiscordHttpError) return this.#sendError(res, entry, error, rlHeaders);
      console.error('[fake-discord] handler crashed', entry.method, entry.path, error);
      this.#send(res, entry, 500, { message: '500: Internal Server Error', code: 0 }, rlHeaders);
    }
  }

  #sendFault(
    req: IncomingMessage,
    res: ServerResponse,
    entry: RequestLogEntry,
    fault: FailOptions & { status: number; retryAfter: number },
  ): void {
    entry.injected = true;
    this.#deps.onInjected(entry);
    if (fault.resetConnection) {
      entry.status = 0;
      req.socket.destroy();
      this.#deps.onRequestDone(entry);
      return;
    }
    const extra: Record<string, string> = { ...fault.headers };
    let body = fault.body;
    if (fault.status === 429) {
      const global = fault.global === true;
      body ??= { message: 'You are being rate limited.', retry_after: fault.retryAfter, global };
      Object.assign(
        extra,
        this.#retryHeaders(fault.retryAfter, fault.scope ?? (global ? 'global' : 'user'), entry.route),
      );
      if (global) extra['X-RateLimit-Global'] = 'true';
    } else {
      body ??= { message: `${fault.status}: ${defaultStatusText(fault.status)}`, code: 0 };
    }
    this.#send(res, entry, fault.status, body, { ...extra, ...fault.headers });
  }

  #retryHeaders(retryAfter: number, scope: string, template: string): Record<string, string> {
    const header = this.#deps.retryAfterHeader === 'ceil' ? String(Math.ceil(retryAfter)) : String(retryAfter);
    const now = this.#deps.now();
    return {
      'Retry-After': header,
      'X-RateLimit-Limit': String(this.#deps.rateLimiter.limit),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': ((now + retryAfter * 1000) / 1000).toFixed(3),
      'X-RateLimit-Reset-After': formatSeconds(retryAfter * 1000),
      'X-RateLimit-Bucket': template.length > 0 ? bucketOf(template) : 'unknown',
      'X-RateLimit-Scope': scope,
    };
  }

  #sendError(
    res: ServerResponse,
    entry: RequestLogEntry,
    error: DiscordHttpError,
    headers: Record<string, string>,
  ): void {
    this.#send(res, entry, error.status, error.body, headers);
  }

  #send(
    res: ServerResponse,
    entry: RequestLogEntry,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): void {
    entry.status = status;
    entry.responseBody = body;
    if (!res.headersSent && !res.destroyed) {
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      if (status === 204 || body === undefined) {
        res.writeHead(status);
        res.end();
      } else {
        const payload = JSON.stringify(body);
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
        res.end(payload);
      }
    }
    this.#deps.onRequestDone(entry);
  }

  #serveAttachment(pathname: string, method: string, res: ServerResponse): void {
    // /attachments/{channel_id}/{attachment_id}/{filename}
    const id = pathname.split('/')[3] ?? '';
    const file = this.#deps.file(id);
    if (!file || (method !== 'GET' && method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404: Not Found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': file.contentType ?? 'application/octet-stream',
      'Content-Length': file.size,
    });
    res.end(method === 'HEAD' ? undefined : file.data);
  }
}

function defaultStatusText(status: number): string {
  const map: Record<number, string> = {
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
    400: 'Bad Request',
    403: 'Forbidden',
    404: 'Not Found',
  };
  return map[status] ?? 'Error';
}
