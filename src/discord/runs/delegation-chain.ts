/**
 * Which delegation chain an agent's @mention continues, and at what level. A chain starts with a
 * member's request (level 1); an agent that delegates while working on a run of level n, or soon
 * after it ended, asks at level n + 1 in the same chain. Read from the journal, so two agents
 * busy with unrelated chains do not add up each other's levels, and a ping-pong between two bots
 * climbs even when each run ends before the next mention.
 */
import type { RunRecord } from '../../store/run-store.ts';
import { MENTION_REPLY_KIND, REQUESTER_REPLY_KIND } from '../delivery/outbox.ts';
import { RESULT_DELIVERY_KIND } from '../delivery/result-link.ts';
import { parseOrigin, type RunOrigin } from './run-origin.ts';
import type { AsyncRunStore } from '../../store/store-api.ts';

/** A run delegated to an agent still counts as what the agent works on this long after it ended. */
export const CHAIN_WINDOW_MS = 15 * 60_000;
/** The agent's runs looked at, newest first. */
const CANDIDATES = 50;

export interface ChainLink {
  readonly chainId: string;
  readonly depth: number;
}

export interface MentionInChain {
  /** The agent whose bot wrote the mention. */
  readonly agent: string;
  readonly authorId: string;
  readonly content: string;
  /** The message the mention replies to, if any. */
  readonly replyTo?: string | undefined;
  readonly now: number;
}

interface KnownRun {
  readonly record: RunRecord;
  readonly origin: RunOrigin;
}

/** Where the new run sits; undefined when it starts a chain of its own. */
export async function chainOf(
  ledger: Pick<AsyncRunStore, 'recentRuns' | 'getDelivery'>,
  mention: MentionInChain,
): Promise<ChainLink | undefined> {
  const known = async (query: Parameters<AsyncRunStore['recentRuns']>[0]): Promise<KnownRun[]> =>
    (await ledger.recentRuns({ ...query, limit: CANDIDATES })).flatMap((record) => {
      const origin = parseOrigin(record.origin);
      return origin ? [{ record, origin }] : [];
    });
  const live = ({ record }: KnownRun): boolean =>
    record.finishedAt === undefined || mention.now - record.finishedAt <= CHAIN_WINDOW_MS;
  const workedOn = (await known({ agent: mention.agent })).filter(live);
  const below = ({ record, origin }: KnownRun): ChainLink => ({
    chainId: origin.chainId ?? record.runId,
    depth: origin.depth + 1,
  });

  // The agent names the run it works for (the prompt gives it its run_id).
  const named = workedOn.find(({ record }) => mention.content.includes(record.runId));
  if (named) return below(named);
  if (mention.replyTo !== undefined) {
    const answered = (runs: KnownRun[]): Promise<KnownRun | undefined> => findAbout(ledger, runs, mention.replyTo!);
    const replied = await answered(workedOn);
    if (replied) return below(replied);
    // A follow-up to its own earlier delegation sits at the same level, in the same chain.
    const own = await answered((await known({ requesterId: mention.authorId })).filter(live));
    if (own) return { chainId: own.origin.chainId ?? own.record.runId, depth: own.origin.depth };
  }
  // Otherwise the run it was handed last: a loop between two bots climbs instead of restarting.
  const latest = workedOn[0];
  return latest ? below(latest) : undefined;
}

/** The first run `messageId` is about: its mention, or a message the bot posted for it. */
async function findAbout(
  ledger: Pick<AsyncRunStore, 'getDelivery'>,
  runs: readonly KnownRun[],
  messageId: string,
): Promise<KnownRun | undefined> {
  for (const run of runs) {
    if (run.origin.messageId === messageId) return run;
    for (const kind of [MENTION_REPLY_KIND, REQUESTER_REPLY_KIND, RESULT_DELIVERY_KIND])
      if ((await ledger.getDelivery(run.record.runId, kind))?.messageId === messageId) return run;
  }
  return undefined;
}
