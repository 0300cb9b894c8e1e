/** Minimal REST router with Discord-like route templates and request matchers for tests. */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestLogEntry } from './model.ts';

export interface UploadedFile {
  /** Form field name, e.g. `files[0]`. */
  field: string;
  /** `n` of `files[n]`, if the field has that shape. */
  index: number | undefined;
  filename: string;
  contentType: string | undefined;
  data: Buffer;
}

export interface ParsedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** JSON body or decoded `payload_json` (undefined when there was none). */
  body: unknown;
  files: UploadedFile[];
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteContext {
  req: ParsedRequest;
  params: Record<string, string>;
  log: RequestLogEntry;
}

export interface RouteDef {
  method: string;
  /** e.g. `/channels/:channel_id/messages/:message_id` */
  pattern: string;
  /** Requires `Authorization: Bot <token>`. */
  auth: boolean;
  /** Param names that make up the rate limit bucket's major parameter. */
  major?: string[];
  handler: (ctx: RouteContext) => RouteResult | Promise<RouteResult>;
}

interface CompiledRoute extends RouteDef {
  regex: RegExp;
  keys: string[];
}

export type RouteMatch =
  | { kind: 'found'; route: RouteDef; params: Record<string, string>; template: string }
  | { kind: 'method_not_allowed' }
  | { kind: 'not_found' };

export class Router {
  readonly #routes: CompiledRoute[] = [];

  add(def: RouteDef): void {
    const keys: string[] = [];
    const source = def.pattern
      .split('/')
      .map((seg) => {
        if (seg.startsWith(':')) {
          keys.push(seg.slice(1));
          return '([^/]+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.#routes.push({ ...def, regex: new RegExp(`^${source}/?$`), keys });
  }

  match(method: string, path: string): RouteMatch {
    let pathMatched = false;
    for (const route of this.#routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { kind: 'found', route, params, template: `${method} ${route.pattern}` };
    }
    return pathMatched ? { kind: 'method_not_allowed' } : { kind: 'not_found' };
  }
}

/**
 * How tests select requests (for `failNext`, `nextRequest`, `requests`…):
 *  - string: `"POST /channels/:id/messages"`, `"/gateway/bot"`, `"PATCH /webhooks/*"`; an optional
 *    leading HTTP method, `:name` matches one path segment, `*` matches anything. Matches the
 *    concrete path (after `/api/v10`, without query string).
 *  - RegExp: tested against `"METHOD /path"`.
 *  - function: arbitrary predicate over the request log entry.
 */
export type RequestMatcher = string | RegExp | ((req: RequestLogEntry) => boolean);

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

export function compileMatcher(
  matcher: RequestMatcher,
): (req: Pick<RequestLogEntry, 'method' | 'path'> & Partial<RequestLogEntry>) => boolean {
  if (typeof matcher === 'function') return matcher as (req: Partial<RequestLogEntry>) => boolean;
  if (matcher instanceof RegExp) return (req) => matcher.test(`${req.method} ${req.path}`);
  const trimmed = matcher.trim();
  const space = trimmed.indexOf(' ');
  let method: string | undefined;
  let pathPattern = trimmed;
  if (space > 0 && METHODS.has(trimmed.slice(0, space).toUpperCase())) {
    method = trimmed.slice(0, space).toUpperCase();
    pathPattern = trimmed.slice(space + 1).trim();
  } else if (METHODS.has(trimmed.toUpperCase())) {
    method = trimmed.toUpperCase();
    pathPattern = '*';
  }
  pathPattern = pathPattern.replace(/^\/api(\/v\d+)?(?=\/)/, '');
  const source = pathPattern
    .split(/(\*|:[A-Za-z_][A-Za-z0-9_]*)/)
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const regex = new RegExp(`^${source}/?$`);
  return (req) => (method === undefined || req.method === method) && regex.test(req.path);
}
