/**
 * How an agent (or a person) delegates by @mentioning the bot:
 *
 *     <@BOT_ID> <agent> [retries=2 timeout=120 strict=false context=10]: <task>
 *
 * The message starts with the mention (of the bot, or of its managed role, which Discord's
 * autocomplete offers first); the agent name is folded to lower case; the bracketed
 * options are optional (spaces or commas between, each key once; timeout also takes 90s, 5m,
 * 1h); the task is everything after the colon and must not be empty.
 */
import { FollowUpRefusal, followUpUsage, MentionRefusal, mentionUsage } from '../render/strings.ts';

export interface MentionOptions {
  readonly retries?: number;
  readonly timeout?: number;
  readonly strict?: boolean;
  /** Recent channel messages to include as context. */
  readonly context?: number;
}

export type MentionParse =
  | { readonly ok: true; readonly agent: string; readonly task: string; readonly options: MentionOptions }
  | { readonly ok: false; readonly reason: string };

const AGENT = /^[a-z0-9][a-z0-9_-]{0,31}$/i;
const MAX_TIMEOUT_SECONDS = 86_400;
const MAX_CONTEXT = 30;

export function parseMentionTask(content: string, botUserId: string, botRoleId?: string): MentionParse {
  const fail = (why: string): MentionParse => ({ ok: false, reason: `${why}\n${mentionUsage(botUserId)}` });
  if (!/^\d{1,21}$/.test(botUserId)) return fail(MentionRefusal.badBotId);
  const role = botRoleId !== undefined && /^\d{1,21}$/.test(botRoleId) ? `|<@&${botRoleId}>` : '';

  const text = content.trim();
  const mention = new RegExp(`^(?:<@!?${botUserId}>${role})`).exec(text);
  if (mention === null) return fail(MentionRefusal.noMention);
  const rest = text.slice(mention[0].length).trimStart();

  const head = /^([^\s:[\]]+)\s*/.exec(rest);
  if (head === null || head[1] === undefined) return fail(MentionRefusal.noAgent);
  const agent = head[1];
  if (!AGENT.test(agent)) {
    return fail(MentionRefusal.badAgent(agent.slice(0, 40)));
  }
  let after = rest.slice(head[0].length);

  let options: MentionOptions = {};
  if (after.startsWith('[')) {
    const close = after.indexOf(']');
    if (close === -1) return fail(MentionRefusal.bracketOpen);
    const parsed = parseOptions(after.slice(1, close));
    if (typeof parsed === 'string') return fail(parsed);
    options = parsed;
    after = after.slice(close + 1).trimStart();
  }

  if (!after.startsWith(':')) return fail(MentionRefusal.noColon(agent));
  const task = after.slice(1).trim();
  if (task.length === 0) return fail(MentionRefusal.emptyTask(agent.toLowerCase()));
  return { ok: true, agent: agent.toLowerCase(), task, options };
}

/**
 * A follow-up in a result thread: `<@BOT_ID> <task>`, the agent being the thread's. A message that
 * starts with a known agent's name and a colon or options (`<@BOT_ID> webster: <task>`) names an
 * agent: the thread's is accepted (with its options), another refused. Any other first word is task.
 */
export function parseFollowUpTask(
  content: string,
  input: { botUserId: string; botRoleId?: string | undefined; agent: string; knownAgents: readonly string[] },
): MentionParse {
  const { botUserId, agent } = input;
  const fail = (why: string): MentionParse => ({ ok: false, reason: `${why}\n${followUpUsage(botUserId, agent)}` });
  if (!/^\d{1,21}$/.test(botUserId)) return fail(MentionRefusal.badBotId);
  const role = input.botRoleId !== undefined && /^\d{1,21}$/.test(input.botRoleId) ? `|<@&${input.botRoleId}>` : '';
  const text = content.trim();
  const mention = new RegExp(`^(?:<@!?${botUserId}>${role})`).exec(text);
  if (mention === null) return fail(MentionRefusal.noMention);
  const rest = text.slice(mention[0].length).trim();
  const named = /^([a-z0-9][a-z0-9_-]{0,31})\s*[:[]/i.exec(rest)?.[1]?.toLowerCase();
  if (named !== undefined && input.knownAgents.includes(named)) {
    if (named !== agent) return fail(FollowUpRefusal.otherAgent(named, agent));
    const parsed = parseMentionTask(text, botUserId, input.botRoleId);
    return parsed.ok ? parsed : fail(parsed.reason.split('\n')[0] ?? '');
  }
  if (rest.length === 0) return fail(FollowUpRefusal.emptyTask(agent));
  return { ok: true, agent, task: rest, options: {} };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The options, or a sentence saying what is wrong with them. */
function parseOptions(inside: string): MentionOptions | string {
  const options: Mutable<MentionOptions> = {};
  const seen = new Set<string>();
  for (const item of inside.split(/[\s,]+/).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) return MentionRefusal.notKeyValue(item.slice(0, 40));
    const key = item.slice(0, eq).toLowerCase();
    const value = item.slice(eq + 1).toLowerCase();
    if (seen.has(key)) return MentionRefusal.givenTwice(key);
    seen.add(key);
    switch (key) {
      case 'retries': {
        const n = wholeNumber(value);
        if (n === undefined || n < 1 || n > 3) return MentionRefusal.badRetries;
        options.retries = n;
        break;
      }
      case 'timeout': {
        const n = seconds(value);
        if (n === undefined || n < 1 || n > MAX_TIMEOUT_SECONDS) return MentionRefusal.badTimeout(MAX_TIMEOUT_SECONDS);
        options.timeout = n;
        break;
      }
      case 'strict':
        if (value !== 'true' && value !== 'false') return MentionRefusal.badStrict;
        options.strict = value === 'true';
        break;
      case 'context': {
        const n = wholeNumber(value);
        if (n === undefined || n > MAX_CONTEXT) return MentionRefusal.badContext(MAX_CONTEXT);
        options.context = n;
        break;
      }
      default:
        return MentionRefusal.unknownOption(key.slice(0, 40));
    }
  }
  return options;
}

function wholeNumber(text: string): number | undefined {
  return /^\d{1,6}$/.test(text) ? Number(text) : undefined;
}

function seconds(text: string): number | undefined {
  const match = /^(\d{1,6})(s|m|h)?$/.exec(text);
  if (match === null) return undefined;
  const unit = match[2] === 'h' ? 3_600 : match[2] === 'm' ? 60 : 1;
  return Number(match[1]) * unit;
}
