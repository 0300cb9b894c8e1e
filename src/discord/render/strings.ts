/**
 * Everything the bot says in prose to the people and agents it answers, in one place so the
 * tone can be read and changed together. Each text says what happened and what the reader can do.
 */

// ── Taking work ────────────────────────────────────────────────────────────────────────────

export const RESTARTING_NOTICE = 'hq-delegate is restarting, retry in a minute.';

export const UNEXPECTED_ERROR =
  'Something went wrong on the bot side. It has been logged; try again, and tell an admin if it keeps happening.';

export function unknownCommand(name: string): string {
  return `/${name} is not a command this bot knows (yet): ask an admin to run deploy-commands.`;
}

export const BUTTON_NOT_HANDLED = 'This button is no longer handled by the bot.';

export const GUILD_ONLY = '/delegate works only in the server.';

// ── Who may delegate ───────────────────────────────────────────────────────────────────────

export interface DelegationDenial {
  readonly agent: string;
  readonly reason: string;
  readonly principals: readonly string[];
  readonly reachable: readonly string[];
  /** False when no admin can change it (self-delegation). */
  readonly adminCanAllow: boolean;
}

export function delegationDenied(denial: DelegationDenial): string {
  const instead = denial.reachable.length > 0 ? ` You may delegate to: ${denial.reachable.join(', ')}.` : '';
  const who = denial.adminCanAllow
    ? ` If you need ${denial.agent}, ask an admin of this bot to let ${denial.principals.join(' or ')} delegate to it, or to give you a role that may.`
    : '';
  const actingAs = denial.principals.join(', ');
  return `You may not delegate to ${denial.agent}: ${denial.reason} (you act as ${actingAs}).${instead}${who}`;
}

export function chainTooDeep(depth: number, limit: number): string {
  return (
    `Delegation chain too deep: this would be level ${depth}, the limit is ${limit}. ` +
    'Finish the work in hand instead of delegating further.'
  );
}

export function tooManyDelegations(perMinute: number, waitMs: number): string {
  return (
    `Too many delegations: at most ${perMinute} per minute per author. ` +
    `Try again in ${Math.ceil(waitMs / 1_000)} s.`
  );
}

export function missedMentionTooOld(ageMs: number, maxAgeMinutes: number): string {
  return (
    `This mention came while hq-delegate was down, ${Math.round(ageMs / 60_000)} minutes ago: ` +
    `older than the ${maxAgeMinutes} minutes the bot looks back after a restart, so it was not taken. ` +
    'Mention me again if it still needs doing.'
  );
}

// ── /delegate and its buttons ──────────────────────────────────────────────────────────────

export const TASK_EMPTY = 'The task is empty.';

export function taskTooLong(length: number, max: number): string {
  return `The task is ${length} characters; the limit is ${max}. Attach the rest as context_file.`;
}

export function outOfRange(option: string, min: number, max: number): string {
  return `${option} must be from ${min} to ${max}.`;
}

export const RUN_ALREADY_ENDED = 'This run has already ended.';

export function cancelNotAllowed(requesterId: string): string {
  return `Only <@${requesterId}>, who started this run, or an admin can cancel it.`;
}

export function cancelling(runId: string): string {
  return `🚫 Cancelling run \`${runId}\`…`;
}

export function tooOldToRetry(runId: string): string {
  return `Run \`${runId}\` is too old to retry from here: use /delegate again.`;
}

/** A Retry button works once: the first press takes it. */
export function alreadyRetried(runId: string, byUserId: string | undefined): string {
  const who = byUserId === undefined ? '' : ` by <@${byUserId}>`;
  return `Run \`${runId}\` was already retried${who}; each Retry button works once. Use /delegate to run it again.`;
}

// ── /runs and /agents ──────────────────────────────────────────────────────────────────────

export const STORE_NOT_CONFIGURED = 'the run store is not configured';

export const RUNS_WITHOUT_STORE = `/runs has no history to show: ${STORE_NOT_CONFIGURED} on this bot. Ask an admin.`;

export function onlyOwnRunsOf(agent: string): string {
  return `You may not delegate to ${agent}, so only your own runs on it are shown.`;
}

export const NO_AGENTS_CONFIGURED = 'No agents are configured yet: ask an admin of this bot to add some.';

export const NO_AGENTS_REACHABLE =
  'There is no agent you may delegate to: ask an admin of this bot to give you a role that may.';

/** An agent name the member typed that is not one they could use. */
export function unknownAgentFor(agent: string, reachable: readonly string[]): string {
  const name = agent.replaceAll('`', '').slice(0, 40);
  return reachable.length > 0
    ? `There is no agent called ${name} that you may delegate to. You may delegate to: ${reachable.join(', ')}.`
    : `There is no agent called ${name} that you may delegate to. ${NO_AGENTS_REACHABLE}`;
}

export const LAST_RESULTS_HIDDEN = `⚠️ Last results are not shown: ${STORE_NOT_CONFIGURED}.`;

// ── Context for a task ─────────────────────────────────────────────────────────────────────

export function cannotReadHistory(channel: string): string {
  return `You cannot read the message history of ${channel}, so it cannot be used as context.`;
}

export function botCannotReadHistory(channel: string): string {
  return (
    `The bot cannot read the message history of ${channel} (it lacks Read Message History there), ` +
    'so no channel context could be taken: ask an admin of this server to grant it.'
  );
}

/** On the requester's reply when the task went without the context they asked for. */
export function contextLeftOut(why: string): string {
  return `⚠️ Sent without channel context. ${why} To refuse instead next time, set context_required: True.`;
}

export function contextFileTooLarge(name: string, size: number, maxBytes: number): string {
  return `context_file "${name}" is ${size} bytes; the limit is ${maxBytes} bytes (ask an admin of this bot if you need more).`;
}

export function contextFileLargerThan(name: string, maxBytes: number): string {
  return `context_file "${name}" is larger than ${maxBytes} bytes (ask an admin of this bot if you need more).`;
}

export function contextFileNotText(name: string): string {
  return `context_file "${name}" is not a UTF-8 text file.`;
}

export function contextFileDownloadFailed(name: string, why: string): string {
  return `Could not download context_file "${name}": ${why}`;
}

export function channelListNotAList(channel: string): string {
  return `Discord answered the message list of ${channel} with something that is not a list.`;
}

export const NO_CHANNEL_GIVEN = 'No channel given: name one as #name or by its id.';

export function channelLookupOutsideServer(channel: string): string {
  return `Cannot look up ${channel} outside a server: give the channel id instead.`;
}

export function noChannelNamed(channel: string): string {
  return `No channel named ${channel} that the bot can see in this server.`;
}

export function botCannotReadChannel(channel: string): string {
  return `The bot cannot read ${channel}: give it View Channel and Read Message History there.`;
}

export function channelNotFound(channel: string): string {
  return `${channel} does not exist or the bot is not in its server.`;
}

export function channelReadFailed(channel: string, status: number | undefined): string {
  const http = status !== undefined && Number.isFinite(status) ? ` (HTTP ${status})` : '';
  return `Could not read ${channel} from Discord${http}; try again without context.`;
}

// ── An agent's @mention ────────────────────────────────────────────────────────────────────

/** Every refusal of a mention ends with it. */
export function mentionUsage(botUserId: string): string {
  return (
    `Usage: <@${botUserId}> <agent>: <task> — options go before the colon: ` +
    '<agent> [retries=1-3 timeout=SECONDS strict=true|false context=0-30]: <task>'
  );
}

/** In a result thread the agent is the thread's; naming it is allowed, naming another is not. */
export function followUpUsage(botUserId: string, agent: string): string {
  return `In this thread: <@${botUserId}> <task> (or <@${botUserId}> ${agent}: <task>) asks ${agent} again.`;
}

export const FollowUpRefusal = {
  emptyTask: (agent: string) => `Write the follow-up for ${agent} after the mention.`,
  otherAgent: (named: string, agent: string) =>
    `This thread is ${agent}'s: a follow-up here goes to ${agent}, not ${named}. Ask ${named} outside the thread.`,
};

/** The fenced context block's name for a result thread's earlier runs. */
export function followUpContextSource(agent: string): string {
  return `this result thread with ${agent} (earlier tasks and results)`;
}

export const MentionRefusal = {
  badBotId: 'The bot user id is not a Discord id.',
  noMention: 'A delegation starts with a mention of the bot.',
  noAgent: 'Name the agent after the mention.',
  badAgent: (agent: string) => `"${agent}" is not an agent name (letters, digits, "-" or "_", at most 32 characters).`,
  bracketOpen: 'The options bracket is not closed: add "]" before the colon.',
  noColon: (agent: string) => `Put a colon after "${agent}" (and its options, if any), then the task.`,
  emptyTask: (agent: string) => `The task for ${agent} is empty: write it after the colon.`,
  notKeyValue: (item: string) => `Option "${item}" is not key=value.`,
  givenTwice: (key: string) => `Option "${key}" is given twice.`,
  badRetries: 'retries must be a whole number from 1 to 3.',
  badTimeout: (max: number) => `timeout must be seconds from 1 to ${max} (or like 90s, 5m, 1h).`,
  badStrict: 'strict must be true or false.',
  badContext: (max: number) => `context must be a whole number from 0 to ${max}.`,
  unknownOption: (key: string) => `Unknown option "${key}": use retries, timeout, strict or context.`,
} as const;

// ── The requester's reply while a run waits or ends ────────────────────────────────────────

export function pausedNotice(runId: string, finished: boolean, discordFailing: boolean): string {
  const id = `\`${runId.replaceAll('`', '')}\``;
  if (discordFailing) {
    return `⏳ run ${id} has finished; Discord is not taking its result right now, and it is posted as soon as it does.`;
  }
  return finished
    ? `⏸ hq-delegate is restarting: run ${id} has finished and its result is posted when the bot is back.`
    : `⏸ hq-delegate is restarting: run ${id} is kept and continues when the bot is back.`;
}

export function runStopped(why: string): string {
  return `❌ The run stopped: ${why}`;
}

export const RESTARTED_BEFORE_START =
  '⚠️ hq-delegate restarted before this run could start: nothing was sent to the agent. Please ask again.';

export function notResumed(why: string): string {
  return `Could not be resumed after a restart: ${why}`;
}

export function continuedInChannel(requesterId: string): string {
  return `<@${requesterId}>: your /delegate outlived its interaction token, so it continues here.`;
}

export function replyDeletedInChannel(requesterId: string): string {
  return `<@${requesterId}>: the reply to your /delegate was deleted, so it continues here.`;
}

export const CONTINUED_BELOW = '⏩ continued in a message below (the interaction token expired)';

// ── Where the result went ──────────────────────────────────────────────────────────────────

export function missingResultChannel(channelName: string, agent: string): string {
  return `no #${channelName} channel for ${agent}'s results: ask an admin of this server to create it`;
}

export function resultPostFailed(channelName: string, why: string): string {
  return `could not post to #${channelName} (${why}); the result is shown here instead`;
}

/** A result thread's name when the task leaves nothing to name it after. */
export function resultThreadFallbackName(agent: string): string {
  return `${agent} result`;
}

/** Appended to the requester's reply: a channel mention opens the thread and pings nobody. */
export function resultThreadLink(threadId: string): string {
  return ` · Thread: <#${threadId}>`;
}

// ── Follow-ups by /followup and by plain message (issue 13) ────────────────────────────────

/** /followup outside a result thread: where it works, and the way to start a new conversation. */
export const FOLLOW_UP_OUTSIDE_THREAD =
  "/followup works only in a result thread (the thread under an agent's result): " +
  'use it there to ask that agent again, or use /delegate to start a new task.';

/** An @mention asking for context=N where the bot cannot read the history: refused, with the way out. */
export function mentionContextUnreadable(channel: string): string {
  return `${botCannotReadHistory(channel)} Ask again with context=0 to send the task without it.`;
}
// ── Follow-ups waiting their turn in a thread (thread-queue.ts) ──────────────────────────────

export function followUpQueued(runId: string, aheadRunId: string): string {
  return `⏳ Run \`${runId}\` waits behind run \`${aheadRunId}\` in this thread; it starts when that one ends.`;
}

export function queuedCancelNotAllowed(requesterId: string): string {
  return `Only <@${requesterId}>, who sent this follow-up, can cancel it while it waits.`;
}

export const QUEUED_NO_LONGER_WAITING = 'This follow-up is no longer waiting: it has started or ended.';

export function queuedCancelled(runId: string): string {
  return `🚫 Run \`${runId}\` is cancelled; it never started.`;
}

export const QUEUED_CANCELLED_NOTE = 'Cancelled by its author while it waited for its turn in the thread';
// ── Approval before sensitive agents run (discord/approvals/) ─────────────────────────────

/** `<t:…>` renders in each reader's own time zone. */
export function discordTime(epochMs: number, style: 'f' | 'R' = 'f'): string {
  return `<t:${Math.floor(epochMs / 1_000)}:${style}>`;
}

/** Roles and users as mentions; the message carrying them pings nobody (NO_PINGS). */
export function approverList(roleIds: readonly string[], userIds: readonly string[]): string {
  return [...roleIds.map((id) => `<@&${id}>`), ...userIds.map((id) => `<@${id}>`)].join(', ');
}

export function approvalCardTitle(agent: string): string {
  return `Approval needed: a run for ${agent}`;
}

export function awaitingApproval(agent: string, approvers: string, expiresAt: number): string {
  return (
    `⏳ Waiting for approval before **${agent}** starts: one of ${approvers} must approve it ` +
    `(expires ${discordTime(expiresAt, 'R')}). Nothing is sent to the agent until then.`
  );
}

export function approvedBy(userId: string, at: number): string {
  return `✅ Approved by <@${userId}> ${discordTime(at, 'R')}`;
}

export function rejectedBy(userId: string, at: number, reason?: string): string {
  return `❌ Rejected by <@${userId}> ${discordTime(at, 'R')}${reason ? `: ${reason}` : ''}`;
}

export function expiredAt(at: number): string {
  return `⌛ Expired ${discordTime(at, 'R')}: nobody approved it in time`;
}

export function runRejected(agent: string, userId: string, reason?: string): string {
  return `❌ Your run for **${agent}** was rejected by <@${userId}>${reason ? `: ${reason}` : ''}. Nothing was sent to the agent.`;
}

export function runApprovalExpired(agent: string, at: number): string {
  return `⌛ Your run for **${agent}** was not approved before ${discordTime(at)}, so it was dropped. Nothing was sent to the agent.`;
}

export function notAnApprover(approvers: string): string {
  return `Only ${approvers} may decide on this run.`;
}

export const SELF_APPROVAL_REFUSED =
  'You asked for this run, so someone else must approve it (you may still reject it).';

export const APPROVAL_UNKNOWN = 'This approval card is not known to the bot any more.';

export function approvalAlreadyDecided(state: string, byUserId: string | undefined): string {
  const word = state === 'approved' ? 'approved' : state === 'rejected' ? 'rejected' : 'expired';
  return `This run was already ${word}${byUserId ? ` by <@${byUserId}>` : ''}.`;
}

export const APPROVAL_CARD_FAILED =
  'The approval card could not be posted, so nobody could approve this run: ask an admin of this bot to check the approval channel.';

export const REJECT_MODAL_TITLE = 'Reject this run';
export const REJECT_REASON_LABEL = 'Why? (optional, shown to the requester)';
