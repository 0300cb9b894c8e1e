/**
 * A fake OpenClaw gateway (2026.9.6 as NOTES.md §1 describes it): a real HTTP (or, given a
 * key and certificate, HTTPS) server on 127.0.0.1, port 0. It answers `/healthz`, authenticates `/hooks/agent` like the real one
 * (Bearer or x-openclaw-token, `?token=` refused, 401 `Unauthorized`, 429 after 20 failures a
 * minute), validates the body (256 KiB cap, message required, sessionKey prefix `hook:`,
 * boolean waitForCompletion, delivery channel registered), replays a run for a repeated
 * Idempotency-Key instead of starting another, and holds a waitForCompletion answer until the
 * scripted agent's run settles. Where asked it keeps the shipped hooks defaults (`sessionKey`
 * refused) or hosts several agents (`agentId` required).
 *
 * The "agent" reads its run id and handoff path out of the prompt, as a real one does, and
 * does what the test scripted: write a handoff (valid or broken in a chosen way, renamed into
 * place or written in place in two halves) after some time, or never. When the prompt says to
 * PUT it (an `http` agent), it PUTs the same text to the URL with the bearer token instead.
 *
 * Tests drive it with `setDefault` / `enqueue` and await its events (`next('run')`…); every
 * request and every agent run is recorded.
 */
import { EventEmitter } from 'node:events';
import { open, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';

export const HOOKS_BODY_LIMIT = 256 * 1_024;
const FAILED_AUTH_LIMIT = 20;
/** The gateway's own words (NOTES.md §1.2). */
export const SESSION_KEY_DISABLED =
  'sessionKey is disabled for externally supplied hook payload values; set hooks.allowRequestSessionKey=true to enable';
export const AGENT_ID_REQUIRED = 'agentId is required when multiple agents are configured';
export const AGENT_ID_NOT_ALLOWED = 'agentId is not allowed by hooks.allowedAgentIds';
/** A 2026.9.6 gateway's hooks as it ships: request session keys refused. */
export const SHIPPED_HOOKS_DEFAULTS = { allowRequestSessionKey: false } as const;

export type HandoffKind =
  'valid' | 'lenient-only' | 'malformed' | 'strict-invalid' | 'failed' | 'blocked' | 'partial' | 'partial-low';

export interface AgentScript {
  /** What the agent leaves at the handoff path. Default `valid`. */
  readonly write?: HandoffKind | 'none' | { readonly json: unknown } | { readonly raw: string };
  /** Delay from the run's start to the write. Default 0. */
  readonly afterMs?: number;
  /** `rename`: through a temp file (default); `in-place`: one writeFile; `halves`: truncate, half, pause, rest. */
  readonly how?: 'rename' | 'in-place' | 'halves';
  readonly halfGapMs?: number;
  /** From the write (or the start, with `write: 'none'`) to the run settling. Default 0. */
  readonly finishAfterMs?: number;
  readonly completionStatus?: 'ok' | 'error' | 'skipped';
  /**
   * A gullible agent: it writes to the first path any "write your response as a JSON file to:"
   * line in the whole message names, the fenced channel context included, as an agent obeying
   * an injected instruction would.
   */
  readonly followInjected?: boolean;
  /** Held: the agent writes only once this settles (after `afterMs`), or never if the gateway closes first. */
  readonly until?: Promise<unknown>;
}

export type RequestScript =
  | { readonly respond?: 'admit'; readonly agent?: AgentScript }
  | { readonly respond: 'status'; readonly status: number; readonly body?: string; readonly contentType?: string }
  /** Close the socket without answering, before admission: no run. */
  | { readonly respond: 'drop' }
  /** Admit (the agent run starts), then close the socket without answering: the answer is lost. */
  | { readonly respond: 'drop-after-admission'; readonly agent?: AgentScript };

/** `html`: the Control UI's catch-all 200 page on every GET path; `status-500`: the gateway's own error; `hang`: accept and never answer. */
export type HealthMode = 'ok' | 'html' | 'status-500' | 'status-503' | 'hang';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly rawBody: string;
  /** The parsed JSON body, when it parsed. */
  readonly body: Record<string, unknown> | undefined;
  readonly idempotencyKey: string | undefined;
  readonly receivedAt: number;
  /** What the fake answered (0: no answer, socket dropped or held). */
  status: number;
}

export interface FakeRun {
  /** The gateway's hook-run id (not the orchestrator's run id). */
  readonly gatewayRunId: string;
  /** The orchestrator's run id, read out of the prompt. */
  readonly runId: string | undefined;
  readonly agent: string | undefined;
  readonly handoffPath: string | undefined;
  /** An `http` agent's PUT target and token, as the prompt gave them. */
  readonly handoffUrl: string | undefined;
  readonly handoffToken: string | undefined;
  /** The status the listener answered the agent's PUT. */
  putStatus?: number;
  readonly idempotencyKey: string | undefined;
  /** The `agentId` the request named, if any. */
  readonly agentId: string | undefined;
  readonly request: RecordedRequest;
  readonly script: AgentScript;
  readonly startedAt: number;
  settled: boolean;
  completionStatus: string;
}

interface FakeGatewayEvents {
  request: [RecordedRequest];
  run: [FakeRun];
  handoff: [FakeRun, string];
  settled: [FakeRun];
  health: [];
}

export interface FakeGatewayOptions {
  readonly token?: string;
  /**
   * Registered channel plugins. Default `['discord']` (a gateway with the external @openclaw/discord
   * plugin); `[]` is a gateway without it, which answers a delivering POST 400 `channel must be last`.
   */
  readonly channels?: readonly string[];
  readonly script?: RequestScript;
  readonly health?: HealthMode;
  /** Behave like a gateway without waitForCompletion: answer at admission even when asked to wait. */
  readonly ignoreWaitForCompletion?: boolean;
  /** hooks.allowRequestSessionKey. Default true (what the reference's payload needs); the gateway ships with false. */
  readonly allowRequestSessionKey?: boolean;
  /** The agents the gateway hosts; with more than one, a request must name one (`agentId`). */
  readonly agentIds?: readonly string[];
  /** Serve HTTPS with this PEM key and certificate. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export class FakeGateway extends EventEmitter<FakeGatewayEvents> {
  readonly host = '127.0.0.1';
  readonly token: string;
  readonly requests: RecordedRequest[] = [];
  readonly runs: FakeRun[] = [];
  healthRequests = 0;
  /** Errors of the scripted agents (e.g. the handoff directory was gone). */
  readonly agentErrors: unknown[] = [];
  #port = 0;
  #server: Server;
  #sockets = new Set<Socket>();
  #default: RequestScript;
  #queue: RequestScript[] = [];
  #health: HealthMode;
  #channels: readonly string[];
  #byKey = new Map<string, FakeRun>();
  #held = new Map<FakeRun, { response: ServerResponse; recorded: RecordedRequest }[]>();
  #timers = new Set<NodeJS.Timeout>();
  /** Agent actions already under way (a write in two halves): close() lets them end, so a test's temp dir is not removed under them. */
  #inFlight = new Set<Promise<void>>();
  #failedAuth: number[] = [];
  #sequence = 0;
  #closed = false;
  #close: () => void = () => {};
  /** Settles when close() begins: a held agent stops waiting. */
  readonly #closing = new Promise<void>((resolve) => (this.#close = resolve));
  #ignoreWait: boolean;
  #allowSessionKey: boolean;
  #agentIds: readonly string[];
  readonly #tls: boolean;

  constructor(options: FakeGatewayOptions = {}) {
    super();
    this.token = options.token ?? 'fake-hooks-token-0123456789';
    this.#default = options.script ?? { respond: 'admit' };
    this.#health = options.health ?? 'ok';
    this.#channels = options.channels ?? ['discord'];
    this.#ignoreWait = options.ignoreWaitForCompletion ?? false;
    this.#allowSessionKey = options.allowRequestSessionKey ?? true;
    this.#agentIds = options.agentIds ?? [];
    this.#tls = options.tls !== undefined;
    const handle = (request: IncomingMessage, response: ServerResponse): void => void this.#handle(request, response);
    this.#server = options.tls === undefined ? createServer(handle) : createTlsServer(options.tls, handle);
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  get port(): number {
    return this.#port;
  }

  get origin(): string {
    return `${this.#tls ? 'https' : 'http'}://${this.host}:${this.#port}`;
  }

  /** Agent runs started (an idempotent replay starts none). */
  get runCount(): number {
    return this.runs.length;
  }

  get hookRequests(): RecordedRequest[] {
    return this.requests.filter((request) => request.url.startsWith('/hooks'));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, this.host, () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops every connection: the port is then closed ("gateway down"). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#close();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all([...this.#inFlight]);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  setDefault(script: RequestScript): void {
    this.#default = script;
  }

  /** Scripts for the next hook requests that start something new, in order; then the default. */
  enqueue(...scripts: RequestScript[]): void {
    this.#queue.push(...scripts);
  }

  setHealth(mode: HealthMode): void {
    this.#health = mode;
  }

  /** The next event of that kind (optionally matching), as a promise. */
  next<K extends keyof FakeGatewayEvents>(
    event: K,
    matches: (...args: FakeGatewayEvents[K]) => boolean = () => true,
  ): Promise<FakeGatewayEvents[K]> {
    return new Promise((resolve) => {
      const listener = (...args: FakeGatewayEvents[K]): void => {
        if (!matches(...args)) return;
        this.off(event, listener as never);
        resolve(args);
      };
      this.on(event, listener as never);
    });
  }

  #later(ms: number, action: () => void | Promise<void>): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed) return;
      // A test that ended before its agent wrote (temp dir gone) must not crash the process.
      const running = Promise.resolve()
        .then(action)
        .catch((error: unknown) => {
          this.agentErrors.push(error);
        })
        .finally(() => this.#inFlight.delete(running));
      this.#inFlight.add(running);
    }, ms);
    this.#timers.add(timer);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '/';
    const pathname = url.split('?')[0] ?? '/';
    if (pathname === '/healthz' || pathname === '/health') return this.#answerHealth(request, response);
    if (request.method === 'GET' && this.#health === 'html')
      return this.#text(
        response,
        200,
        '<!doctype html><html><body>Control UI</body></html>',
        'text/html; charset=utf-8',
      );
    if (!pathname.startsWith('/hooks')) return this.#text(response, 404, 'Not Found');

    const rawBody = await this.#readBody(request);
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      url,
      headers: { ...request.headers },
      rawBody: rawBody ?? '',
      body: undefined,
      idempotencyKey: undefined,
      receivedAt: Date.now(),
      status: 0,
    };
    this.requests.push(recorded);
    const answer = (status: number, body: string, contentType?: string): void => {
      recorded.status = status;
      this.#text(response, status, body, contentType);
    };
    const answerJson = (status: number, body: unknown): void =>
      answer(status, JSON.stringify(body), 'application/json; charset=utf-8');

    try {
      return this.#answerHook(request, response, url, pathname, rawBody, recorded, answer, answerJson);
    } catch (error) {
      answerJson(500, { ok: false, error: `fake gateway error: ${(error as Error).message}` });
    } finally {
      this.emit('request', recorded);
    }
  }

  #answerHook(
    request: IncomingMessage,
    response: ServerResponse,
    url: string,
    pathname: string,
    rawBody: string | undefined,
    recorded: RecordedRequest,
    answer: (status: number, body: string, contentType?: string) => void,
    answerJson: (status: number, body: unknown) => void,
  ): void {
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      return answer(405, 'Method Not Allowed');
    }
    if (pathname !== '/hooks/agent') return answer(404, 'Not Found');
    if (new URL(url, 'http://fake').searchParams.has('token'))
      return answer(400, 'Hook token must be provided via Authorization or X-OpenClaw-Token header');
    if (!this.#authorized(request)) {
      const now = Date.now();
      this.#failedAuth = this.#failedAuth.filter((at) => now - at < 60_000);
      this.#failedAuth.push(now);
      if (this.#failedAuth.length > FAILED_AUTH_LIMIT) {
        response.setHeader('Retry-After', '60');
        return answer(429, 'Too Many Requests');
      }
      return answer(401, 'Unauthorized');
    }
    this.#failedAuth = [];
    if (rawBody === undefined) return answerJson(413, { ok: false, error: 'payload too large' });

    let body: Record<string, unknown>;
    try {
      const parsed = rawBody.trim() === '' ? {} : (JSON.parse(rawBody) as unknown);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        return answerJson(400, { ok: false, error: 'body must be an object' });
      body = parsed as Record<string, unknown>;
    } catch (error) {
      return answerJson(400, { ok: false, error: (error as Error).message });
    }
    const idempotencyKey = this.#idempotencyKey(request, body);
    Object.assign(recorded, { body, idempotencyKey });

    const problem = this.#validate(body);
    if (problem !== undefined) return answerJson(400, { ok: false, error: problem });

    const previous = idempotencyKey === undefined ? undefined : this.#byKey.get(idempotencyKey);
    if (previous !== undefined) return this.#answerRun(previous, body, response, recorded);

    const script = this.#queue.shift() ?? this.#default;
    switch (script.respond) {
      case 'status':
        return answer(
          script.status,
          script.body ?? JSON.stringify({ ok: false, error: `scripted ${script.status}` }),
          script.contentType ?? (script.body === undefined ? 'application/json' : 'text/plain'),
        );
      case 'drop':
        request.socket.destroy();
        return;
      case 'drop-after-admission':
        this.#startRun(recorded, body, idempotencyKey, script.agent ?? {});
        request.socket.destroy();
        return;
      default: {
        const run = this.#startRun(recorded, body, idempotencyKey, script.agent ?? {});
        return this.#answerRun(run, body, response, recorded);
      }
    }
  }

  #answerHealth(request: IncomingMessage, response: ServerResponse): void {
    this.healthRequests += 1;
    this.emit('health');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return this.#text(response, 405, 'Method Not Allowed');
    }
    switch (this.#health) {
      case 'html':
        return this.#text(
          response,
          200,
          '<!doctype html><html><body>Control UI</body></html>',
          'text/html; charset=utf-8',
        );
      case 'status-500':
        return this.#text(response, 500, 'Internal Server Error');
      case 'status-503':
        return this.#text(response, 503, JSON.stringify({ ok: false, status: 'draining' }), 'application/json');
      case 'hang':
        return;
      default:
        response.setHeader('Cache-Control', 'no-store');
        return this.#text(
          response,
          200,
          JSON.stringify({ ok: true, status: 'live' }),
          'application/json; charset=utf-8',
        );
    }
  }

  #authorized(request: IncomingMessage): boolean {
    const header = request.headers.authorization ?? '';
    const bearer = /^bearer\s+(.+)$/i.exec(header.trim())?.[1]?.trim();
    const presented = bearer || (request.headers['x-openclaw-token'] as string | undefined)?.trim() || '';
    return presented !== '' && presented === this.token;
  }

  #idempotencyKey(request: IncomingMessage, body: Record<string, unknown>): string | undefined {
    const header = request.headers['idempotency-key'] ?? request.headers['x-openclaw-idempotency-key'];
    const value =
      (Array.isArray(header) ? header[0] : header) ??
      (typeof body.idempotencyKey === 'string' ? body.idempotencyKey : undefined);
    const trimmed = value?.trim();
    return trimmed === undefined || trimmed === '' || trimmed.length > 256 ? undefined : trimmed;
  }

  #validate(body: Record<string, unknown>): string | undefined {
    if (typeof body.message !== 'string' || body.message.trim() === '') return 'message required';
    if (body.sessionKey !== undefined && !this.#allowSessionKey) return SESSION_KEY_DISABLED;
    if (
      body.sessionKey !== undefined &&
      (typeof body.sessionKey !== 'string' || !body.sessionKey.toLowerCase().startsWith('hook:'))
    ) {
      return 'sessionKey must start with one of: hook:';
    }
    if (body.agentId === undefined && this.#agentIds.length > 1) return AGENT_ID_REQUIRED;
    if (body.agentId !== undefined && this.#agentIds.length > 0 && !this.#agentIds.includes(String(body.agentId)))
      return AGENT_ID_NOT_ALLOWED;
    if (body.waitForCompletion !== undefined && typeof body.waitForCompletion !== 'boolean')
      return 'waitForCompletion must be boolean';
    if (body.deliver !== false) {
      const hasChannel = typeof body.channel === 'string' && body.channel !== '';
      const hasTo = typeof body.to === 'string' && body.to !== '';
      if (hasChannel !== hasTo) return 'channel and to must be set together for hook delivery';
      if (hasChannel && !this.#channels.includes(body.channel as string))
        return `channel must be ${['last', ...this.#channels].join('|')}`;
    }
    return undefined;
  }

  async #readBody(request: IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > HOOKS_BODY_LIMIT) tooLarge = true;
      else chunks.push(chunk);
    }
    return tooLarge ? undefined : Buffer.concat(chunks).toString('utf8');
  }

  #text(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
    if (response.destroyed || response.headersSent) return;
    response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
  }

  #answerRun(run: FakeRun, body: Record<string, unknown>, response: ServerResponse, recorded: RecordedRequest): void {
    if (body.waitForCompletion !== true || this.#ignoreWait) {
      recorded.status = 200;
      return this.#text(
        response,
        200,
        JSON.stringify({ ok: true, runId: run.gatewayRunId }),
        'application/json; charset=utf-8',
      );
    }
    if (run.settled) return this.#answerCompletion(run, response, recorded);
    const held = this.#held.get(run) ?? [];
    held.push({ response, recorded });
    this.#held.set(run, held);
  }

  #answerCompletion(run: FakeRun, response: ServerResponse, recorded: RecordedRequest): void {
    recorded.status = 200;
    this.#text(
      response,
      200,
      JSON.stringify({
        ok: true,
        runId: run.gatewayRunId,
        completion: { status: run.completionStatus, replyDisposition: 'visible' },
      }),
      'application/json; charset=utf-8',
    );
  }

  #startRun(
    recorded: RecordedRequest,
    body: Record<string, unknown>,
    idempotencyKey: string | undefined,
    script: AgentScript,
  ): FakeRun {
    const message = String(body.message);
    this.#sequence += 1;
    const run: FakeRun = {
      gatewayRunId: `hook-run-${this.#sequence}`,
      runId: /run_id: ([^\]\s]+)\]/.exec(message)?.[1],
      agent: typeof body.to === 'string' ? body.to.replace(/^channel:dl-/, '') : undefined,
      handoffPath: script.followInjected
        ? /write your response as a JSON file to:\s*`?([^\s`]+)/.exec(message)?.[1]
        : /write your response as a JSON file to:\n(.+)\n/.exec(message)?.[1],
      handoffUrl: /send your response as JSON in an HTTP PUT to:\n(.+)\n/.exec(message)?.[1],
      handoffToken: /"Authorization: Bearer ([^"]+)"/.exec(message)?.[1],
      idempotencyKey,
      agentId: typeof body.agentId === 'string' ? body.agentId : undefined,
      request: recorded,
      script,
      startedAt: Date.now(),
      settled: false,
      completionStatus: script.completionStatus ?? 'ok',
    };
    this.runs.push(run);
    if (idempotencyKey !== undefined) this.#byKey.set(idempotencyKey, run);
    this.emit('run', run);

    const write = script.write ?? 'valid';
    const settle = (): void => {
      run.settled = true;
      for (const { response, recorded: heldRequest } of this.#held.get(run) ?? [])
        this.#answerCompletion(run, response, heldRequest);
      this.#held.delete(run);
      this.emit('settled', run);
    };
    if (write === 'none' || (run.handoffPath === undefined && run.handoffUrl === undefined)) {
      this.#later(script.finishAfterMs ?? 0, settle);
    } else {
      this.#later(script.afterMs ?? 0, async () => {
        if (script.until !== undefined) await Promise.race([script.until, this.#closing]);
        if (this.#closed) return;
        await this.#writeHandoff(run, write, script);
        this.emit('handoff', run, run.handoffPath ?? '');
        this.#later(script.finishAfterMs ?? 0, settle);
      });
    }
    return run;
  }

  async #writeHandoff(
    run: FakeRun,
    write: Exclude<AgentScript['write'], 'none' | undefined>,
    script: AgentScript,
  ): Promise<void> {
    const file = run.handoffPath ?? '';
    const text =
      typeof write === 'object'
        ? 'raw' in write
          ? write.raw
          : JSON.stringify(write.json, null, 2)
        : handoffText(write, run.runId ?? '', run.agent ?? '');
    if (run.handoffUrl !== undefined) {
      const response = await fetch(run.handoffUrl, {
        method: 'PUT',
        headers: { authorization: `Bearer ${run.handoffToken ?? ''}`, 'content-type': 'application/json' },
        body: text,
      });
      run.putStatus = response.status;
      await response.arrayBuffer();
      return;
    }
    switch (script.how ?? 'rename') {
      case 'in-place':
        await writeFile(file, text);
        return;
      case 'halves': {
        const handle = await open(file, 'w');
        try {
          const half = Math.floor(text.length / 2);
          await handle.write(text.slice(0, half));
          await new Promise<void>((resolve) => this.#later(script.halfGapMs ?? 30, resolve));
          await handle.write(text.slice(half));
        } finally {
          await handle.close();
        }
        return;
      }
      default: {
        const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
        await writeFile(temporary, text);
        await rename(temporary, file);
      }
    }
  }
}

/** The handoff an agent following the prompt would write, broken in the named way. */
export function handoffText(kind: HandoffKind, runId: string, agent: string): string {
  const valid = {
    schemaVersion: '1.1',
    runId,
    agent,
    status: 'complete',
    result: `findings for ${runId}`,
    deliverable: { type: 'analysis', title: 'Findings', path: null, summary: 'what was found' },
    artifacts: [],
    confidence: 'high',
    notes: '',
    timestamp: '2026-11-25T10:00:00Z',
  };
  const json = (value: unknown): string => JSON.stringify(value, null, 2);
  switch (kind) {
    case 'valid':
      return json(valid);
    case 'lenient-only':
      return json({ runId, agent, status: 'complete', result: 'terse answer' });
    case 'malformed':
      return `{"schemaVersion": "1.1", "status": "complete", "result": "unterminated`;
    case 'strict-invalid':
      return json({ ...valid, deliverable: { ...valid.deliverable, type: 'essay' } });
    case 'failed':
      return json({ ...valid, status: 'failed', result: '', notes: 'the source was unreachable' });
    case 'blocked':
      return json({ ...valid, status: 'blocked', result: '', notes: 'needs credentials for the archive' });
    case 'partial':
      return json({ ...valid, status: 'partial', confidence: 'medium', notes: 'two sources only' });
    case 'partial-low':
      return json({ ...valid, status: 'partial', confidence: 'low', notes: 'mostly guesses' });
  }
}

export async function startFakeGateway(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
  return new FakeGateway(options).start();
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
