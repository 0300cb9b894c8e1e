/**
 * Where each agent's gateway listens. AGENTS_REGISTRY.json (`{"agents":{"<name>":{"port":N,
 * "host"?}}}`) is read first, then the config's fallback map, as the reference script did. The
 * file is re-read when its mtime changes, so an edit applies to the next run without a restart.
 * A broken registry is logged and ignored: a bad edit must not take delegation down.
 */
import { statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { UnknownAgentError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AgentEndpoint } from './types.ts';

const DEFAULT_HOST = '127.0.0.1';
const AGENT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The registry carries other fields (roles, descriptions); only the address matters here. */
const registryEntrySchema = z.looseObject({
  port: z.int().min(1).max(65_535),
  host: z.string().min(1).optional(),
  /** The agent's own handoff directory, an absolute path. */
  handoffDir: z
    .string()
    .refine((dir) => path.isAbsolute(dir), 'an absolute path')
    .optional(),
});
const registryFileSchema = z.looseObject({ agents: z.record(z.string(), z.unknown()) });

export interface FallbackAgent {
  readonly port: number;
  readonly host?: string | undefined;
  readonly deliver?: boolean | undefined;
  readonly handoffDir?: string | undefined;
  readonly handoffPoll?: { readonly intervalMs: number } | undefined;
}

export interface AgentRegistry {
  /** Throws UnknownAgentError listing the known agents. */
  resolve(name: string): AgentEndpoint;
  list(): readonly AgentEndpoint[];
}

interface RegistryEntry {
  readonly port: number;
  readonly host?: string | undefined;
  readonly handoffDir?: string | undefined;
}

interface Snapshot {
  readonly stamp: string;
  readonly entries: ReadonlyMap<string, RegistryEntry>;
}

export function createAgentRegistry(options: {
  readonly registryPath: string;
  readonly fallback: Readonly<Record<string, FallbackAgent>>;
  readonly log?: Logger | undefined;
}): AgentRegistry {
  const { registryPath, fallback, log } = options;
  let snapshot: Snapshot = { stamp: 'none', entries: new Map() };

  function readRegistry(): Snapshot['entries'] {
    let stamp: string;
    try {
      const stats = statSync(registryPath);
      stamp = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        log?.warn({ registryPath, err: error }, 'agent registry cannot be read; using the fallback map');
      snapshot = { stamp: 'none', entries: new Map() };
      return snapshot.entries;
    }
    if (stamp === snapshot.stamp) return snapshot.entries;

    const entries = new Map<string, RegistryEntry>();
    try {
      const file = registryFileSchema.parse(JSON.parse(readFileSync(registryPath, 'utf8')));
      for (const [name, value] of Object.entries(file.agents)) {
        const entry = registryEntrySchema.safeParse(value);
        if (!AGENT_NAME.test(name) || !entry.success) {
          log?.warn(
            { registryPath, agent: name.slice(0, 64) },
            'agent registry entry ignored: it needs a valid name and a port from 1 to 65535',
          );
          continue;
        }
        entries.set(name, { port: entry.data.port, host: entry.data.host, handoffDir: entry.data.handoffDir });
      }
    } catch (error) {
      log?.warn(
        { registryPath, err: error instanceof Error ? error.message : String(error) },
        'agent registry is not valid; using the fallback map',
      );
      entries.clear();
    }
    snapshot = { stamp, entries };
    return entries;
  }

  function endpointOf(name: string, registry: Snapshot['entries']): AgentEndpoint | undefined {
    const fromRegistry = registry.get(name);
    const fromConfig = Object.hasOwn(fallback, name) ? fallback[name] : undefined;
    if (fromRegistry === undefined && fromConfig === undefined) return undefined;
    const port = fromRegistry?.port ?? fromConfig?.port ?? 0;
    const host = fromRegistry?.host ?? fromConfig?.host ?? DEFAULT_HOST;
    const deliver = fromConfig?.deliver;
    const handoffDir = fromRegistry?.handoffDir ?? fromConfig?.handoffDir;
    const handoffPollMs = fromConfig?.handoffPoll?.intervalMs;
    return {
      name,
      host,
      port,
      ...(deliver === undefined ? {} : { deliver }),
      ...(handoffDir === undefined ? {} : { handoffDir }),
      ...(handoffPollMs === undefined ? {} : { handoffPollMs }),
    };
  }

  function list(): AgentEndpoint[] {
    const registry = readRegistry();
    const names = new Set([...registry.keys(), ...Object.keys(fallback)]);
    return [...names].flatMap((name) => endpointOf(name, registry) ?? []);
  }

  return {
    resolve(name) {
      const endpoint = endpointOf(name, readRegistry());
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
