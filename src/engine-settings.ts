/**
 * The engine's settings out of the Config: the one place that knows both shapes. Given main's
 * live view of the config, `acl` reads the config in force at each delegation.
 */
import { agentEnvKey, type Config } from './config.ts';
import type { EngineSettings } from './engine/settings.ts';

export function engineSettingsOf(config: Config): EngineSettings {
  return {
    ...config.engine,
    handoffDir: config.paths.handoffDir,
    registryPath: config.paths.registryPath,
    fallbackAgents: config.agents,
    hooksToken: (agent) => config.secrets.hooksToken(agent),
    hooksTokenHint: (agent) => `set HQ_HOOKS_TOKEN or ${agentEnvKey(agent)}`,
    acl: () => config.acl,
    handoffPublicUrl: config.handoffListener?.publicUrl,
  };
}
