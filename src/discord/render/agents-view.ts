/**
 * The `/agents` answer: one embed with a field per agent (health, queue depth, last result),
 * inside every Discord limit whatever a probe says. Times are Discord timestamps (`<t:…:R>`),
 * rendered by each client against its own clock, so nothing here needs `now`.
 */
import { escapeMarkdown, type APIEmbed, type APIEmbedField } from 'discord.js';
import type { AgentHealth, RunResult } from '../../engine/types.ts';
import {
  MAX_EMBED_DESCRIPTION,
  MAX_EMBED_FIELD_NAME,
  MAX_EMBED_FIELD_VALUE,
  MAX_EMBED_FIELDS,
  MAX_EMBED_TOTAL,
  embedTextLength,
  oneLine,
  truncate,
} from './limits.ts';
import { describeStatus, formatDuration, GREEN, GREY, RED, YELLOW } from './result-embed.ts';
import { LAST_RESULTS_HIDDEN, NO_AGENTS_CONFIGURED, NO_AGENTS_REACHABLE } from './strings.ts';

/** A probe's own words (an HTTP body, an error message) are shown, but not at length. */
export const MAX_HEALTH_DETAIL = 200;

export interface AgentLastRun {
  readonly result: RunResult;
  readonly finishedAt?: number;
  /** The result message in `dl-<agent>`, once delivered. */
  readonly url?: string;
}

export interface AgentStatus {
  readonly name: string;
  /** Undefined: never probed. */
  readonly health?: AgentHealth;
  /** The probe did not answer in time: `health` is the last known answer (or absent). */
  readonly probePending?: boolean;
  readonly queueDepth: number;
  /** Null: the store has no finished run of this agent yet. Ignored without a store. */
  readonly lastRun?: AgentLastRun | null;
}

export interface AgentsView {
  readonly agents: readonly AgentStatus[];
  readonly storeConfigured: boolean;
  /** Agents exist, but none the member may delegate to. */
  readonly noneReachable?: boolean;
}

export function discordTimestamp(ms: number, style: 'R' | 'f' = 'R'): string {
  return `<t:${Math.floor(ms / 1_000)}:${style}>`;
}

function healthEmoji(agent: AgentStatus): string {
  if (!agent.health) return '⚪';
  return agent.health.healthy ? '🟢' : '🔴';
}

function describeAgentHealth(agent: AgentStatus): string {
  const { health } = agent;
  const pending = agent.probePending === true ? ' (probe did not answer in time)' : '';
  if (!health) return `unknown, never checked${pending}`;
  const parts = [health.healthy ? 'healthy' : 'unhealthy'];
  if (health.latencyMs !== undefined && Number.isFinite(health.latencyMs)) parts.push(formatDuration(health.latencyMs));
  if (!health.healthy && health.detail) parts.push(escapeMarkdown(truncate(oneLine(health.detail), MAX_HEALTH_DETAIL)));
  if (Number.isFinite(health.checkedAt)) parts.push(`checked ${discordTimestamp(health.checkedAt)}`);
  return parts.join(' · ') + pending;
}

function describeLastRun(lastRun: AgentLastRun | null | undefined): string {
  if (!lastRun) return 'none yet';
  const { result } = lastRun;
  const style = describeStatus(result.status);
  const parts = [`${style.emoji} ${style.word}`];
  if (Number.isFinite(result.latencyMs)) parts.push(`took ${formatDuration(result.latencyMs)}`);
  if (lastRun.finishedAt !== undefined) parts.push(discordTimestamp(lastRun.finishedAt));
  parts.push(lastRun.url ? `[\`${result.runId}\`](${lastRun.url})` : `\`${result.runId}\``);
  return parts.join(' · ');
}

function queueLine(depth: number): string {
  if (depth === 0) return 'idle';
  return depth === 1 ? '1 run queued or in flight' : `${depth} runs queued or in flight`;
}

export function renderAgentField(agent: AgentStatus, storeConfigured: boolean): APIEmbedField {
  const lines = [`**Health:** ${describeAgentHealth(agent)}`, `**Queue:** ${queueLine(agent.queueDepth)}`];
  if (storeConfigured) lines.push(`**Last result:** ${describeLastRun(agent.lastRun)}`);
  return {
    name: truncate(`${healthEmoji(agent)} ${escapeMarkdown(agent.name)}`, MAX_EMBED_FIELD_NAME),
    value: truncate(lines.join('\n'), MAX_EMBED_FIELD_VALUE),
  };
}

function colourOf(agents: readonly AgentStatus[]): number {
  const healthy = agents.filter((a) => a.health?.healthy === true).length;
  if (agents.length === 0 || healthy === 0) return agents.some((a) => a.health) ? RED : GREY;
  return healthy === agents.length ? GREEN : YELLOW;
}

/** A field per agent while they fit, then one last field naming the agents that did not. */
export function renderAgentsEmbed(view: AgentsView): APIEmbed {
  const { agents } = view;
  const healthy = agents.filter((a) => a.health?.healthy === true).length;
  const notes: string[] = [];
  if (agents.length === 0) notes.push(view.noneReachable === true ? NO_AGENTS_REACHABLE : NO_AGENTS_CONFIGURED);
  if (!view.storeConfigured) notes.push(LAST_RESULTS_HIDDEN);
  const embed: APIEmbed = {
    title: `Agents (${agents.length})`,
    color: colourOf(agents),
    ...(notes.length > 0 ? { description: truncate(notes.join('\n'), MAX_EMBED_DESCRIPTION) } : {}),
    footer: { text: `${healthy} of ${agents.length} healthy` },
  };
  const fields: APIEmbedField[] = [];
  let used = embedTextLength(embed);
  for (const [index, agent] of agents.entries()) {
    const field = renderAgentField(agent, view.storeConfigured);
    const rest = agents.length - index - 1;
    // Room is kept for the closing field whenever agents remain after this one.
    const reserve = rest > 0 ? moreFieldBudget(agents.length) : 0;
    const slots = rest > 0 ? MAX_EMBED_FIELDS - 1 : MAX_EMBED_FIELDS;
    const size = field.name.length + field.value.length;
    if (fields.length >= slots || used + size + reserve > MAX_EMBED_TOTAL) {
      fields.push(moreField(agents.slice(index), MAX_EMBED_TOTAL - used));
      break;
    }
    fields.push(field);
    used += size;
  }
  if (fields.length > 0) embed.fields = fields;
  return embed;
}

/** Enough for the field's name and a useful list of names. */
function moreFieldBudget(total: number): number {
  return `And ${total} more`.length + 200;
}

function moreField(rest: readonly AgentStatus[], room: number): APIEmbedField {
  const name = `And ${rest.length} more`;
  const value = rest.map((a) => `${healthEmoji(a)} ${escapeMarkdown(a.name)}`).join(', ');
  return { name, value: truncate(value, Math.max(1, Math.min(MAX_EMBED_FIELD_VALUE, room - name.length))) };
}
