/**
 * Talks to agents' OpenClaw gateways (NOTES.md §1): `GET /healthz` and `POST /hooks/agent`.
 * One keep-alive undici Pool per gateway origin (https with the agent's CA when it has one:
 * undici's `connect: { ca }`). The hooks token is only ever put in the
 * Authorization header; error text coming back is scrubbed of it before anyone logs it.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AgentPayload } from './prompt.ts';
import type { AgentEndpoint } from './types.ts';

const HEALTH_BODY_CAP = 4 * 1_024;
const RESPONSE_BODY_CAP = 64 * 1_024;
const ERROR_TEXT_CHARS = 300;
/** Pauses between POST tries inside one attempt. The Idempotency-Key makes a retry after a lost answer safe. */
const DEFAULT_SEND_RETRY_DELAYS_MS: readonly number[] = [250, 1_000];

export interface HealthAnswer {
  readonly healthy: boolean;
  readonly latencyMs: number;
  readonly detail?: string;
}

export interface SendOptions {
  readonly idempotencyKey: string;
  readonly signal?: AbortSignal | undefined;
  /** Per try; sendTimeoutMs unless given. */
  readonly responseTimeoutMs?: number | undefined;
  /** Called once, when a request body has first been written to the socket. */
  readonly onRequestSent?: (() => void) | undefined;
  /** Called as each try fails, retried or not, so it is logged when it happens, not when the send ends. */
  readonly onFailure?: ((failure: SendTryFailure) => void) | undefined;
}

export interface SendTryFailure {
  readonly httpStatus?: number | undefined;
  readonly error: string;
}

export type SendResult =
  | {
      readonly ok: true;
      readonly httpStatus: number;
      /** The gateway's own hook-run id; not ours. */
      readonly gatewayRunId?: string | undefined;
      /** With waitForCompletion: how the agent's run settled. */
      readonly completion?: Readonly<Record<string, unknown>> | undefined;
      /** Tries that failed before the one that succeeded. */
      readonly failures: readonly SendTryFailure[];
    }
  | (SendFailure & { readonly ok: false; readonly aborted: boolean; readonly failures: readonly SendTryFailure[] });

interface SendFailure extends SendTryFailure {
  /** false: another attempt would fail the same way (refused token, a request the gateway rejects). */
  readonly retryable: boolean;
  /** Set for a failure the caller tells apart (GATEWAY_DELIVERY: no channel to announce on). */
  readonly code?: ErrorCode | undefined;
}

export interface GatewayClient {
  checkHealth(endpoint: AgentEndpoint, signal?: AbortSignal): Promise<HealthAnswer>;
  sendRun(endpoint: AgentEndpoint, payload: AgentPayload, options: SendOptions): Promise<SendResult>;
  close(): Promise<void>;
}

export interface GatewayClientOptions {
  readonly log: Logger;
  readonly tokenFor: (agent: string) => string | undefined;
  readonly tokenHintFor: (agent: string) => string;
  readonly healthTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly sendRetryDelaysMs?: readonly number[] | undefined;
}

interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

interface DispatchInput {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly bodyCap: number;
  readonly signal: AbortSignal;
  readonly onRequestSent?: (() => void) | undefined;
}

/**
 * One request through the pool with undici's handler API: `request()` would do, except that
 * only a handler hears `onRequestSent`, which the waitForCompletion mode needs (see sendRun).
 */
function dispatchOnce(pool: Pool, input: DispatchInput): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let status = 0;
    let contentType = '';
    const chunks: Buffer[] = [];
    let received = 0;
    const onAbort = (): void => controller?.abort(input.signal.reason as Error);
    const done = (): void => input.signal.removeEventListener('abort', onAbort);
    input.signal.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        controller = started;
        if (input.signal.aborted) started.abort(input.signal.reason as Error);
      },
      onRequestSent() {
        input.onRequestSent?.();
      },
      onResponseStart(_controller, statusCode, headers) {
        status = statusCode;
        const type = headers['content-type'];
        contentType = Array.isArray(type) ? (type[0] ?? '') : (type ?? '');
      },
      onResponseData(_controller, chunk) {
        if (received < input.bodyCap) chunks.push(chunk.subarray(0, input.bodyCap - received));
        received += chunk.length;
      },
      onResponseEnd() {
        done();
        resolve({ status, contentType, body: Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_controller, error) {
        done();
        reject(error);
      },
    };
    pool.dispatch(
      {
        method: input.method,
        path: input.path,
        headers: input.headers,
        body: input.body ?? null,
        headersTimeout: input.timeoutMs,
        bodyTimeout: input.timeoutMs,
      },
      handler,
    );
  });
}

/** Certificate checks that failed: another try would fail the same way. */
const TLS_TRUST_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

function isTlsTrustError(error: unknown): boolean {
  return TLS_TRUST_ERRORS.has((error as { code?: string } | undefined)?.code ?? '');
}

/** Thrown while making a pool: the agent's CA file cannot be read. */
class CaFileError extends Error {
  readonly code = 'HQ_CA_UNREADABLE';
}

function describeNetworkError(error: unknown, timeoutMs: number, timedOut: boolean): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const code = (error as { code?: string } | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the gateway running?)';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed before an answer';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `no answer within ${timeoutMs} ms`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'HQ_CA_UNREADABLE':
      return (error as Error).message;
    default:
      if (isTlsTrustError(error))
        return `the gateway's TLS certificate is not trusted (${code}): give the agent the CA that signed it (ca)`;
      return `${code ?? 'error'}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneLine(text: string, max: number = ERROR_TEXT_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The gateway's error text: `{ok:false,error}` JSON or plain text, shortened, never with the token. */
function errorText(response: RawResponse, token: string): string {
  const parsed = parseJson(response.body);
  const text = isRecord(parsed) && typeof parsed.error === 'string' ? parsed.error : response.body;
  return oneLine(token ? text.replaceAll(token, '[redacted]') : text);
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const { log, tokenFor, tokenHintFor, healthTimeoutMs, sendTimeoutMs } = options;
  const retryDelays = options.sendRetryDelaysMs ?? DEFAULT_SEND_RETRY_DELAYS_MS;
  const pools = new Map<string, Pool>();
  let closed = false;

  /** One pool per origin and CA: a registry edit that changes either gets a fresh one. */
  function poolFor(endpoint: AgentEndpoint): Pool {
    const key = `${endpoint.url} ${endpoint.ca ?? ''}`;
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = new Pool(endpoint.url, {
        keepAliveTimeout: 30_000,
        connectTimeout: Math.min(10_000, Math.max(healthTimeoutMs, 1_000)),
        ...(endpoint.ca === undefined ? {} : { connect: { ca: readCa(endpoint.ca) } }),
      });
      pools.set(key, pool);
    }
    return pool;
  }

  async function checkHealth(endpoint: AgentEndpoint, signal?: AbortSignal): Promise<HealthAnswer> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(healthTimeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const latency = (): number => Math.round(performance.now() - started);
    let response: RawResponse;
    try {
      response = await dispatchOnce(poolFor(endpoint), {
        method: 'GET',
        path: '/healthz',
        headers: { accept: 'application/json' },
        timeoutMs: healthTimeoutMs,
        bodyCap: HEALTH_BODY_CAP,
        signal: combined,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return {
        healthy: false,
        latencyMs: latency(),
        detail: describeNetworkError(error, healthTimeoutMs, timeout.aborted),
      };
    }
    if (response.status !== 200)
      return { healthy: false, latencyMs: latency(), detail: `/healthz answered HTTP ${response.status}` };
    const body = parseJson(response.body);
    // The Control UI answers unknown paths with a catch-all 200 page: a status is not health.
    if (!isRecord(body) || body.ok !== true) {
      return {
        healthy: false,
        latencyMs: latency(),
        detail: `/healthz answered 200 but not with OpenClaw's {"ok":true} (${response.contentType || 'no content type'}: ${oneLine(response.body, 60)})`,
      };
    }
    return { healthy: true, latencyMs: latency() };
  }

  /**
   * A POST that fails with 503 (not admitted in time, gateway restarting) or without an answer
   * (refused, reset, timed out) is tried again after a short pause with the SAME Idempotency-Key:
   * if the first one was admitted after all, the gateway replays its run id instead of starting
   * a second agent run. A 401 is never retried: the gateway throttles failed token checks.
   */
  async function sendRun(endpoint: AgentEndpoint, payload: AgentPayload, send: SendOptions): Promise<SendResult> {
    const token = tokenFor(endpoint.name) ?? '';
    const failures: SendTryFailure[] = [];
    const failed = (failure: SendFailure, aborted = false): SendResult => ({
      ok: false,
      aborted,
      ...failure,
      failures,
    });
    const cancelled = (error = 'cancelled'): SendResult => failed({ retryable: false, error }, true);
    const tokenHint = tokenHintFor(endpoint.name);
    if (token === '')
      return failed({ retryable: false, error: `no hooks token is configured for '${endpoint.name}': ${tokenHint}` });
    const timeoutMs = Math.max(send.responseTimeoutMs ?? sendTimeoutMs, 1);
    const body = JSON.stringify(payload);
    let announced = false;
    const onRequestSent = (): void => {
      if (announced) return;
      announced = true;
      send.onRequestSent?.();
    };

    for (let tryIndex = 0; ; tryIndex += 1) {
      if (closed) return cancelled('the gateway client is closed');
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = send.signal === undefined ? timeout : AbortSignal.any([send.signal, timeout]);
      let failure: SendFailure & { readonly retryNow: boolean };
      try {
        const response = await dispatchOnce(poolFor(endpoint), {
          method: 'POST',
          path: '/hooks/agent',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': send.idempotencyKey,
          },
          body,
          timeoutMs,
          bodyCap: RESPONSE_BODY_CAP,
          signal,
          onRequestSent,
        });
        const parsed = parseJson(response.body);
        if (response.status >= 200 && response.status < 300 && isRecord(parsed) && parsed.ok === true) {
          return {
            ok: true,
            httpStatus: response.status,
            gatewayRunId: typeof parsed.runId === 'string' ? parsed.runId : undefined,
            completion: isRecord(parsed.completion) ? parsed.completion : undefined,
            failures,
          };
        }
        failure = classifyHttpFailure(response, token, tokenHint);
      } catch (error) {
        if (send.signal?.aborted) return cancelled();
        const detail = describeNetworkError(error, timeoutMs, timeout.aborted);
        // A CA that cannot be read or a certificate not trusted fails the same way every time.
        const permanent = error instanceof CaFileError || isTlsTrustError(error);
        failure = { error: detail, retryNow: !permanent, retryable: !permanent };
      }
      const { httpStatus, error, retryable, code } = failure;
      failures.push({ httpStatus, error });
      send.onFailure?.({ httpStatus, error });
      const pause = retryDelays[tryIndex];
      if (!failure.retryNow || pause === undefined) return failed({ retryable, httpStatus, error, code });
      const { idempotencyKey } = send;
      log.debug({ agent: endpoint.name, idempotencyKey, httpStatus, error, pause }, 'hooks POST failed; trying again');
      try {
        await sleep(pause, undefined, send.signal === undefined ? {} : { signal: send.signal });
      } catch {
        return cancelled();
      }
    }
  }

  return {
    checkHealth,
    sendRun,
    async close() {
      closed = true;
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.destroy().catch(() => undefined)));
    },
  };
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CaFileError(`the CA file ${file} cannot be read (${code})`, { cause: error });
  }
}

function classifyHttpFailure(
  response: RawResponse,
  token: string,
  tokenHint: string,
): SendFailure & { readonly retryNow: boolean } {
  const { status: httpStatus } = response;
  if (httpStatus === 401) {
    const error = `the gateway refused the hooks token (HTTP 401): ${tokenHint}`;
    return { httpStatus, error, retryNow: false, retryable: false };
  }
  if (httpStatus === 429) {
    const error = `the gateway is throttling failed token checks (HTTP 429): ${tokenHint}`;
    return { httpStatus, error, retryNow: false, retryable: false };
  }
  const text = errorText(response, token) || '(empty body)';
  // NOTES.md §1.2: with delivery on, `channel` must be a channel plugin the gateway has registered.
  if (httpStatus === 400 && /^channel (?:must be |and to must be set together)/.test(text)) {
    const error = `the gateway cannot announce the run itself: it has no such delivery channel (HTTP 400: ${text})`;
    return { httpStatus, error, retryNow: false, retryable: false, code: ErrorCode.GATEWAY_DELIVERY };
  }
  if (httpStatus >= 200 && httpStatus < 300) {
    const error = `HTTP ${httpStatus} without OpenClaw's {"ok":true}: ${text}`;
    return { httpStatus, error, retryNow: false, retryable: true };
  }
  // 408 (body too slow) and 409 (hooks config reloaded, session conflict) pass; other 4xx will not.
  const permanent = httpStatus >= 400 && httpStatus < 500 && httpStatus !== 408 && httpStatus !== 409;
  return { httpStatus, error: `HTTP ${httpStatus}: ${text}`, retryNow: httpStatus === 503, retryable: !permanent };
}
