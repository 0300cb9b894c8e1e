/**
 * An agent's address, as AGENTS_REGISTRY.json and the config's `agents` map both write it:
 * `url` (http or https, `ca` naming a PEM file for a private certificate) or `host`/`port`,
 * what the gateway must be told (`agentId`, `sessionKey`), and the largest body it takes.
 */
import path from 'node:path';
import * as z from 'zod';
import type { AgentEndpoint, HandoffMode } from './types.ts';

const DEFAULT_HOST = '127.0.0.1';
/** OpenClaw's hooks body limit (NOTES.md §1.2): a larger POST gets 413. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1_024;

function isGatewayUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.hostname !== '' &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === ''
  );
}

/** The fields, for a strict (config) or loose (registry: roles, descriptions…) object. */
export const agentAddressFields = {
  url: z
    .string()
    .refine(isGatewayUrl, 'an http:// or https:// URL with nothing after the port, e.g. https://gw.example:18789')
    .optional(),
  host: z.string().min(1).optional(),
  port: z.int().min(1).max(65_535).optional(),
  /** A PEM file of the CA that signed the gateway's certificate; relative to the file that names it. */
  ca: z.string().min(1).optional(),
  /** For a gateway hosting several agents: which one (sent as the payload's `agentId`). */
  agentId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'an OpenClaw agent id: letters, digits, ".", "_" or "-"')
    .optional(),
  /** Send `sessionKey` (the gateway must set hooks.allowRequestSessionKey). */
  sessionKey: z.boolean().optional(),
  maxBodyBytes: z
    .int()
    .min(16 * 1_024)
    .max(64 * 1_024 * 1_024)
    .optional(),
  /** The agent's own handoff directory (relative to the file naming it); default `<handoffDir>/<agent>`. */
  handoffDir: z.string().min(1).optional(),
  /** Look at the directory every interval instead of watching it: file events do not cross NFS. */
  handoffPoll: z.strictObject({ intervalMs: z.int().min(10).max(60_000) }).optional(),
  /** `http`: the agent PUTs its handoff to handoffListener.publicUrl instead of writing a file. */
  handoff: z.enum(['file', 'http']).optional(),
};

export interface AgentAddress {
  readonly url?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly ca?: string | undefined;
  readonly agentId?: string | undefined;
  readonly sessionKey?: boolean | undefined;
  readonly maxBodyBytes?: number | undefined;
  readonly deliver?: boolean | undefined;
  readonly handoff?: HandoffMode | undefined;
  readonly handoffDir?: string | undefined;
  readonly handoffPoll?: { readonly intervalMs: number } | undefined;
}

/** The rules between fields, for a `superRefine`. */
export function checkAddress(entry: AgentAddress, context: z.RefinementCtx): void {
  const issue = (message: string): void => context.addIssue({ code: 'custom', message });
  if (entry.url !== undefined && (entry.port !== undefined || entry.host !== undefined))
    issue('give either url, or host and port, not both');
  else if (entry.url === undefined && entry.port === undefined) issue('needs a url, or a port (and optional host)');
  if (entry.ca !== undefined && !(entry.url ?? '').startsWith('https:')) issue('ca needs an https:// url');
}

function originOf(entry: AgentAddress): string {
  if (entry.url !== undefined) return new URL(entry.url).origin;
  const host = entry.host ?? DEFAULT_HOST;
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new URL(`http://${bracketed}:${entry.port ?? 0}`).origin;
}

/** A validated address as the engine uses it; `baseDir` is where a relative `ca` is found. */
export function endpointOf(name: string, entry: AgentAddress, baseDir: string): AgentEndpoint {
  return {
    name,
    url: originOf(entry),
    ...(entry.ca === undefined ? {} : { ca: path.resolve(baseDir, entry.ca) }),
    ...(entry.agentId === undefined ? {} : { agentId: entry.agentId }),
    sessionKey: entry.sessionKey ?? false,
    maxBodyBytes: entry.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    ...(entry.deliver === undefined ? {} : { deliver: entry.deliver }),
    ...(entry.handoff === undefined ? {} : { handoff: entry.handoff }),
    ...(entry.handoffDir === undefined ? {} : { handoffDir: path.resolve(baseDir, entry.handoffDir) }),
    ...(entry.handoffPoll === undefined ? {} : { handoffPollMs: entry.handoffPoll.intervalMs }),
  };
}

/** Two agents with one key would get each other's tasks: same origin, same agent on it. */
export function addressKey(endpoint: Pick<AgentEndpoint, 'url' | 'agentId'>): string {
  return `${endpoint.url} ${endpoint.agentId?.toLowerCase() ?? ''}`;
}

/** The first pair of agents sharing one address, if any. */
export function sharedAddress(endpoints: Iterable<AgentEndpoint>): readonly [string, string, string] | undefined {
  const seen = new Map<string, string>();
  for (const endpoint of endpoints) {
    const key = addressKey(endpoint);
    const other = seen.get(key);
    if (other !== undefined) return [other, endpoint.name, key.trim()];
    seen.set(key, endpoint.name);
  }
  return undefined;
}

/** For messages: `host:port` for plain http (as it always read), the whole origin for https. */
export function shownAddress(endpoint: Pick<AgentEndpoint, 'url'>): string {
  return endpoint.url.startsWith('http://') ? endpoint.url.slice('http://'.length) : endpoint.url;
}
