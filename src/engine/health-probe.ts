/**
 * Asks a gateway whether it is up before a run sends to it. Runs that start together share the
 * probe in flight for their gateway (never a finished one); a cancelled run stops waiting at once.
 */
import { addAbortListener } from 'node:events';
import type { GatewayClient } from './gateway-client.ts';
import type { AgentEndpoint, AgentHealth } from './types.ts';

export interface HealthProbe {
  /** Rejects with the signal's reason once it aborts. */
  shared(endpoint: AgentEndpoint, signal?: AbortSignal): Promise<AgentHealth>;
  now(endpoint: AgentEndpoint): Promise<AgentHealth>;
  /** Without probing: autocomplete must never probe per keystroke. */
  cached(agent: string): AgentHealth | undefined;
}

export function createHealthProbe(gateway: GatewayClient): HealthProbe {
  const lastKnown = new Map<string, AgentHealth>();
  const inFlight = new Map<string, Promise<AgentHealth>>();

  async function now(endpoint: AgentEndpoint): Promise<AgentHealth> {
    const result = await gateway.checkHealth(endpoint);
    const health: AgentHealth = {
      agent: endpoint.name,
      healthy: result.healthy,
      latencyMs: result.latencyMs,
      ...(result.detail === undefined ? {} : { detail: result.detail }),
      checkedAt: Date.now(),
    };
    lastKnown.set(endpoint.name, health);
    return health;
  }

  return {
    now,
    cached: (agent) => lastKnown.get(agent),
    shared(endpoint, signal) {
      const key = `${endpoint.name}@${endpoint.url}`;
      let pending = inFlight.get(key);
      if (pending === undefined) {
        pending = now(endpoint).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return signal === undefined ? pending : untilAborted(pending, signal);
    },
  };
}

/** The promise, or the signal's reason as soon as it aborts (the promise itself goes on). */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  const aborted = Promise.withResolvers<never>();
  const listening = addAbortListener(signal, () => aborted.reject(signal.reason));
  try {
    return await Promise.race([promise, aborted.promise]);
  } finally {
    listening[Symbol.dispose]();
  }
}
