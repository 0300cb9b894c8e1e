/**
 * A follow-up: an @mention of the bot in a result thread (result-thread.ts) asks that thread's
 * agent again. An @mention needs no privileged intent. The new run carries the thread's earlier
 * tasks and results as context, fenced as untrusted like channel context: anyone in the thread
 * wrote the tasks, and an agent wrote the results.
 */
import { QUEUED } from '../../store/run-store.ts';
import type { RunRecord } from '../../store/run-queries.ts';
import { formatUntrustedContext, type ContextMessage } from '../context/channel-context.ts';
import { truncate } from '../render/limits.ts';
import { followUpContextSource } from '../render/strings.ts';
import type { AsyncRunStore } from '../../store/store-api.ts';

/** Earlier runs of a thread carried into a follow-up, newest kept. */
export const FOLLOW_UP_CONTEXT_RUNS = 5;
/** Per task or result: one long result must not crowd out every other turn. */
const TURN_TEXT_MAX = 2_000;

export interface ResultThread {
  readonly threadId: string;
  /** The run whose result embed opened the thread. */
  readonly rootRunId: string;
  readonly agent: string;
}

/** The result thread a channel is, or undefined for any other channel or thread. */
export async function resultThreadOf(
  ledger: Pick<AsyncRunStore, 'runIdByResultThread' | 'getRun'>,
  channelId: string,
): Promise<ResultThread | undefined> {
  const rootRunId = await ledger.runIdByResultThread(channelId);
  const root = rootRunId === undefined ? undefined : await ledger.getRun(rootRunId);
  if (rootRunId === undefined || root === undefined) return undefined;
  return { threadId: channelId, rootRunId, agent: root.agent } satisfies ResultThread;
}

/**
 * The thread's last runs as one fenced block, oldest turns dropped first to fit `maxChars`. Runs
 * still waiting their turn (and `excludeRunId`, the run being started) are not context yet.
 */
export async function followUpContext(
  ledger: Pick<AsyncRunStore, 'runsOfThread'>,
  thread: ResultThread,
  maxChars: number,
  excludeRunId?: string,
): Promise<string | undefined> {
  const runs = (await ledger.runsOfThread({ ...thread, limit: FOLLOW_UP_CONTEXT_RUNS * 2 }))
    .filter((run) => run.status !== QUEUED && run.runId !== excludeRunId)
    .slice(0, FOLLOW_UP_CONTEXT_RUNS)
    .reverse();
  const turns = runs.flatMap((run) => turnsOf(run));
  const text = formatUntrustedContext(turns, { maxChars, source: followUpContextSource(thread.agent) });
  return text === '' ? undefined : text;
}

function turnsOf(run: RunRecord): ContextMessage[] {
  const origin = run.origin ?? {};
  const requesterId = typeof origin['requesterId'] === 'string' ? origin['requesterId'] : '';
  const label =
    typeof origin['requesterLabel'] === 'string' && origin['requesterLabel'] ? origin['requesterLabel'] : 'requester';
  const turns: ContextMessage[] = [
    {
      id: `${run.runId}:task`,
      authorName: label,
      authorId: requesterId,
      isBot: false,
      createdAt: new Date(run.acceptedAt),
      content: `Task: ${truncate(run.task ?? '', TURN_TEXT_MAX)}`,
    },
  ];
  if (run.result !== undefined) {
    const body = typeof run.result.result === 'string' ? run.result.result : JSON.stringify(run.result.result ?? '');
    const notes = typeof run.result.notes === 'string' && run.result.notes ? `\nNotes: ${run.result.notes}` : '';
    turns.push({
      id: `${run.runId}:result`,
      authorName: run.agent,
      authorId: '',
      isBot: true,
      createdAt: new Date(run.finishedAt ?? run.acceptedAt),
      content: truncate(`Result (${run.result.status}): ${body}${notes}`, TURN_TEXT_MAX),
    });
  }
  return turns;
}
