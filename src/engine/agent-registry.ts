/**
 * Where each agent's gateway is. Precedence: an agent AGENTS_REGISTRY.json names is reached as
 * the registry says, and only so; the config's `agents` map serves the agents it does not name.
 * The file (`{"agents":{"<name>":{<address, agent-address.ts>}}}`) is re-read when it changes,
 * so an edit applies to the next run without a restart.
 *
 * A version that does not validate (bad JSON, a bad entry, two agents at one address) is refused
 * whole, logged once naming the file and the entry, and the last good version stays in force.
 * An agent the refused version names that no good version did is misconfigured: an error, never
 * a route through the config map, which could send its task and token to another agent's gateway.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { AgentMisconfiguredError, UnknownAgentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { agentAddressFields, checkAddress, endpointOf, sharedAddress, type AgentAddress } from './agent-address.ts';
import type { AgentEndpoint } from './types.ts';

const AGENT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The registry carries other fields (roles, descriptions); those are left alone. */
const registryEntrySchema = z.looseObject(agentAddressFields).superRefine(checkAddress);
const registryFileSchema = z.looseObject({ agents: z.record(z.string(), z.unknown()) });

export interface AgentRegistry {
  /** Throws UnknownAgentError listing the known agents, or AgentMisconfiguredError. */
  resolve(name: string): AgentEndpoint;
  /** The agents that resolve now. */
  list(): readonly AgentEndpoint[];
}

type Entries = ReadonlyMap<string, AgentEndpoint>;

interface Refusal {
  readonly why: string;
  /** Names the refused version gives, or `all` when it could not be read as a registry at all. */
  readonly names: ReadonlySet<string> | 'all';
}

type Parsed = { readonly ok: true; readonly entries: Entries } | ({ readonly ok: false } & Refusal);

function issuesOf(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** Reads one version of the file; `fallback` is there to find two agents at one address. */
function parseRegistry(text: string, registryPath: string, fallback: Entries): Parsed {
  const file = path.basename(registryPath);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, why: `${file} is not valid JSON (${(error as Error).message})`, names: 'all' };
  }
  const shape = registryFileSchema.safeParse(raw);
  if (!shape.success) return { ok: false, why: `${file}: ${issuesOf(shape.error)}`, names: 'all' };
  const names = new Set(Object.keys(shape.data.agents));
  const entries = new Map<string, AgentEndpoint>();
  for (const [name, value] of Object.entries(shape.data.agents)) {
    const shown = JSON.stringify(name.slice(0, 64));
    if (!AGENT_NAME.test(name))
      return { ok: false, names, why: `${file}: entry ${shown}: not an agent name (a-z, 0-9, "-", "_")` };
    const entry = registryEntrySchema.safeParse(value);
    if (!entry.success) return { ok: false, names, why: `${file}: entry ${shown}: ${issuesOf(entry.error)}` };
    entries.set(name, endpointOf(name, entry.data, path.dirname(registryPath)));
  }
  const everyone = [...entries.values(), ...[...fallback.values()].filter((agent) => !entries.has(agent.name))];
  const shared = sharedAddress(everyone);
  if (shared !== undefined) {
    const [first, second, address] = shared;
    return { ok: false, names, why: `${file}: agents '${first}' and '${second}' would share the address ${address}` };
  }
  return { ok: true, entries };
}

export function createAgentRegistry(options: {
  readonly registryPath: string;
  /** The config's `agents` map; a relative `ca` there was resolved against the config file. */
  readonly fallback: Readonly<Record<string, AgentAddress>>;
  readonly log?: Logger | undefined;
}): AgentRegistry {
  const { registryPath, log } = options;
  const fallback: Entries = new Map(
    Object.entries(options.fallback).map(([name, entry]) => [name, endpointOf(name, entry, process.cwd())]),
  );
  let stamp = 'unread';
  /** The last good version (a missing file is a good, empty one); undefined until one was seen. */
  let inForce: Entries | undefined;
  let refusal: Refusal | undefined;

  function refresh(): void {
    let next: string;
    try {
      const stats = statSync(registryPath);
      next = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        stamp = 'none';
        inForce = new Map();
        refusal = undefined;
        return;
      }
      next = `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
      if (next !== stamp)
        log?.warn({ registryPath, err: error }, 'agent registry cannot be read; the last good one stays');
      stamp = next;
      refusal =
        inForce === undefined ? { why: `${path.basename(registryPath)} cannot be read`, names: 'all' } : undefined;
      return;
    }
    if (next === stamp) return;
    stamp = next;
    let parsed: Parsed;
    try {
      parsed = parseRegistry(readFileSync(registryPath, 'utf8'), registryPath, fallback);
    } catch (error) {
      parsed = { ok: false, why: `${path.basename(registryPath)} cannot be read (${String(error)})`, names: 'all' };
    }
    if (parsed.ok) {
      if (refusal !== undefined) log?.info({ registryPath }, 'agent registry is valid again');
      inForce = parsed.entries;
      refusal = undefined;
      return;
    }
    log?.warn(
      { registryPath, reason: parsed.why },
      inForce === undefined
        ? 'agent registry refused; the agents it names are misconfigured until it is fixed'
        : 'agent registry edit refused; the last good version stays in force',
    );
    refusal = parsed;
  }

  /** Why an agent may not be routed anywhere: the refused version names it and no good one does. */
  function misconfigured(name: string): string | undefined {
    if (refusal === undefined || inForce?.has(name) === true) return undefined;
    if (refusal.names === 'all' ? inForce === undefined : refusal.names.has(name))
      return `its entry in the agent registry is refused (${refusal.why})`;
    return undefined;
  }

  function endpointFor(name: string): AgentEndpoint | undefined {
    const registered = inForce?.get(name);
    if (registered !== undefined) return registered;
    if (misconfigured(name) !== undefined) return undefined;
    return fallback.get(name);
  }

  function list(): AgentEndpoint[] {
    refresh();
    const names = new Set([...(inForce?.keys() ?? []), ...fallback.keys()]);
    return [...names].flatMap((name) => endpointFor(name) ?? []);
  }

  return {
    resolve(name) {
      refresh();
      const why = misconfigured(name);
      if (why !== undefined) throw new AgentMisconfiguredError(name, why);
      const endpoint = endpointFor(name);
      if (endpoint === undefined)
        throw new UnknownAgentError(
          name,
          list()
            .map((agent) => agent.name)
            .sort(),
        );
      return endpoint;
    },
    list,
  };
}
