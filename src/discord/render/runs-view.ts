/**
 * The `/runs` answer: one embed listing recent runs, newest first, each linking its delivered
 * result and its thread (a follow-up is a run of its own, in the thread it was asked in). What does not fit leaves the oldest runs out (and says how many), never half a line.
 * A task is the requester's own text, so it is shown in inline code where nothing renders.
 */
import { escapeMarkdown, type APIEmbed } from 'discord.js';
import type { RunRecord, StoredRunStatus } from '../../store/run-store.ts';
import { MAX_EMBED_DESCRIPTION, MAX_EMBED_FOOTER, MAX_EMBED_TITLE, truncate } from './limits.ts';
import { BLURPLE, describeStatus, type StatusStyle } from './result-embed.ts';
import { discordTimestamp } from './agents-view.ts';

export const MAX_TASK_PREVIEW = 60;
/** The most runs one answer lists (an option's max_value; the embed fits this many). */
export const MAX_RUNS_LISTED = 25;
export const DEFAULT_RUNS_LISTED = 10;

const RUNNING_STYLE: StatusStyle = { word: 'Running', emoji: '⏳', color: BLURPLE };
const QUEUED_STYLE: StatusStyle = { word: 'Queued', emoji: '🕒', color: BLURPLE };

export interface RunsFilters {
  readonly agent?: string;
  readonly status?: StoredRunStatus;
  readonly mine?: boolean;
  readonly limit: number;
}

export interface RunLine {
  readonly run: RunRecord;
  readonly resultUrl?: string;
  /** The run's result thread (result-link.ts runThreadId), shown as a channel link. */
  readonly threadId?: string;
}

export interface RunsView {
  readonly runs: readonly RunLine[];
  readonly filters: RunsFilters;
  /** Said above the list, e.g. why some runs are hidden from this caller. */
  readonly notes?: readonly string[];
}

export function describeRunStatus(status: string): StatusStyle {
  if (status === 'queued') return QUEUED_STYLE;
  return status === 'running' ? RUNNING_STYLE : describeStatus(status);
}

/** Inline code cannot hold a backtick; a look-alike keeps the text readable. */
function inlineCode(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim().replaceAll('`', 'ˋ');
  return `\`${truncate(clean.length > 0 ? clean : ' ', max)}\``;
}

export function renderRunLine(line: RunLine): string {
  const { run } = line;
  const style = describeRunStatus(run.status);
  const head = [
    `${style.emoji} \`${run.runId}\` **${escapeMarkdown(run.agent)}**`,
    style.word,
    discordTimestamp(run.finishedAt ?? run.acceptedAt),
  ];
  if (run.requesterId !== undefined && /^\d{1,20}$/.test(run.requesterId)) head.push(`<@${run.requesterId}>`);
  if (line.resultUrl) head.push(`[result](${line.resultUrl})`);
  if (line.threadId !== undefined && /^\d{1,20}$/.test(line.threadId)) head.push(`thread <#${line.threadId}>`);
  const task = run.task ?? run.request?.task;
  return task === undefined ? head.join(' · ') : `${head.join(' · ')}\n└ ${inlineCode(task, MAX_TASK_PREVIEW)}`;
}

function describeFilters(filters: RunsFilters): string {
  const parts: string[] = [];
  if (filters.agent !== undefined) parts.push(`agent ${escapeMarkdown(filters.agent)}`);
  if (filters.status !== undefined) parts.push(describeRunStatus(filters.status).word.toLowerCase());
  if (filters.mine === true) parts.push('yours');
  return parts.length > 0 ? parts.join(' · ') : 'all runs';
}

export function renderRunsEmbed(view: RunsView): APIEmbed {
  const { runs, filters } = view;
  const header = (view.notes ?? []).map((note) => `⚠️ ${note}`);
  const blocks: string[] = [...header];
  if (runs.length === 0) blocks.push('No runs match these filters.');
  let length = blocks.join('\n').length;
  let shown = 0;
  for (const [index, line] of runs.entries()) {
    const text = renderRunLine(line);
    const left = runs.length - index - 1;
    const tail = left > 0 ? moreLine(left).length + 1 : 0;
    if (length + 1 + text.length + tail > MAX_EMBED_DESCRIPTION) {
      blocks.push(moreLine(runs.length - index));
      break;
    }
    blocks.push(text);
    length += 1 + text.length;
    shown += 1;
  }
  const newest = runs[0]?.run;
  return {
    title: truncate(`Recent runs — ${describeFilters(filters)}`, MAX_EMBED_TITLE),
    description: truncate(blocks.join('\n'), MAX_EMBED_DESCRIPTION),
    color: newest ? describeRunStatus(newest.status).color : BLURPLE,
    footer: { text: truncate(`${shown} shown, newest first (limit ${filters.limit})`, MAX_EMBED_FOOTER) },
  };
}

function moreLine(count: number): string {
  return `…and ${count} older ${count === 1 ? 'run' : 'runs'} that did not fit: narrow the filters or lower the limit.`;
}
