/**
 * What the requester's reply ends with once the run is over: for a person, a summary line and
 * the link to the embed (or the result itself); for an agent's @mention, the machine-readable block.
 */
import { escapeMarkdown } from 'discord.js';
import { isSuccess, type RunResult } from '../../engine/types.ts';
import { MAX_MESSAGE_CONTENT, truncate } from '../render/limits.ts';
import { renderMachineBlock } from '../render/reply-block.ts';
import type { ReplyPayload } from './reply-target.ts';
import type { Delivery, ResultRequester } from './result-post.ts';
import { describeStatus, formatDuration, renderResultMessage } from '../render/result-embed.ts';
import { pausedNotice, resultThreadLink } from '../render/strings.ts';
import { neutraliseMentions, unmaskLinks } from '../render/agent-text.ts';

/** How much of a failed run's reason the requester's reply carries; the embed has the rest. */
const REASON_MAX = 300;

/**
 * "✅ webster — Complete: <title> (1 attempt, 4.2 s)", and for a run that did not succeed a
 * second line saying why: the requester may never open the embed.
 */
export function summarizeResult(result: RunResult): string {
  const style = describeStatus(String(result.status));
  const deliverable = result.deliverable as { title?: unknown } | undefined;
  const title =
    typeof deliverable?.title === 'string' && deliverable.title.trim() ? `: ${agentLine(deliverable.title, 120)}` : '';
  const attempts = `${result.attempts} attempt${result.attempts === 1 ? '' : 's'}`;
  const line = `${style.emoji} **${result.agent}** — ${style.word}${title} (${attempts}, ${formatDuration(result.latencyMs)})`;
  if (isSuccess(result.status) || typeof result.notes !== 'string' || result.notes.trim() === '') return line;
  return `${line}\nWhy: ${agentLine(result.notes, REASON_MAX)}`;
}

/** Agent-written text on one line of the reply's content: no markdown, no masked link, no mention. */
function agentLine(text: string, max: number): string {
  return neutraliseMentions(escapeMarkdown(truncate(unmaskLinks(text).replace(/\s+/g, ' ').trim(), max)));
}

/** `threadId`: the result's thread, linked after the embed's link. */
export function finalReply(
  result: RunResult,
  delivery: Delivery,
  requester: ResultRequester,
  threadId?: string,
): ReplyPayload {
  const summary = summarizeResult(result);
  if (delivery.kind === 'posted') {
    const thread = threadId === undefined ? '' : resultThreadLink(threadId);
    return {
      content: truncate(`${summary}\n→ ${delivery.url}${thread}`, MAX_MESSAGE_CONTENT),
      embeds: [],
      components: [],
    };
  }
  const rendered = renderResultMessage(result, { requesterId: requester.id, requesterLabel: requester.label });
  return { content: truncate(`${summary}\n⚠️ ${delivery.notice}`, MAX_MESSAGE_CONTENT), ...rendered };
}

export function machineReply(result: RunResult, delivery: Delivery, requester: ResultRequester): ReplyPayload {
  if (delivery.kind === 'posted')
    return { content: renderMachineBlock(result, delivery.url), embeds: [], components: [] };
  const notice = `⚠️ ${delivery.notice}`;
  const block = renderMachineBlock(result, undefined, MAX_MESSAGE_CONTENT - notice.length - 1);
  return {
    content: `${notice}\n${block}`,
    ...renderResultMessage(result, { requesterId: requester.id, requesterLabel: requester.label }),
  };
}

/** While a run waits on the bot's restart or on Discord, not on its agent. */
export function pausedReply(runId: string, finished: boolean, discordFailing = false): ReplyPayload {
  return { content: pausedNotice(runId, finished, discordFailing), embeds: [], components: [] };
}
