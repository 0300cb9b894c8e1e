/**
 * The orchestrate command line, flag for flag the reference script's argparse interface, with its
 * unique-prefix abbreviations and last-one-wins on/off pairs. Anything wrong is a UsageError.
 * Values the config decides stay undefined when not given.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';

const OUTPUT_FORMATS = ['json', 'text'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const MAX_CHANNEL_MESSAGES = 30;
const DEFAULT_CHANNEL_MESSAGES = 20;
/** The config schema's bound for a per-attempt wait. */
export const MAX_TIMEOUT_SECONDS = 86_400;

export interface CliOptions {
  readonly agent: string;
  readonly task: string;
  /** The reference always waits; `--no-wait` is fire-and-forget (status `sent`). */
  readonly wait: boolean;
  readonly timeoutSeconds: number | undefined;
  readonly format: OutputFormat;
  readonly contextPath: string | undefined;
  readonly deliver: boolean | undefined;
  readonly runId: string | undefined;
  /** Already clamped to 1–3, as the reference does. */
  readonly maxAttempts: number | undefined;
  readonly strict: boolean | undefined;
  readonly workflowId: string | undefined;
  readonly stepId: string | undefined;
  readonly caller: string | undefined;
  readonly channelContext: string | undefined;
  /** Clamped to 1–30, as the reference does. */
  readonly channelMessages: number;
}

type ParsedCommand = { readonly kind: 'help' } | { readonly kind: 'run'; readonly options: CliOptions };

export const USAGE = `usage: orchestrate <agent> <task> [options]

Delegates <task> to <agent> through its OpenClaw gateway, waits for the handoff file,
prints the result as JSON (exit 0 complete/partial, 1 otherwise, 2 usage error).

options:
  --wait                     block until the agent completes (the default)
  --no-wait                  fire and forget: print {"status": "sent", ...} once sent
  --timeout <sec>            max wait per attempt (default: config, 300)
  --format json|text         print the JSON result (default) or only the result text
  --context <file>           prepend this file as CONTEXT to the task
  --no-deliver               ask the gateway not to announce the run itself
  --run-id <id>              run id, [A-Za-z0-9][A-Za-z0-9._-]{0,127} (default: orch-<unix>-<hex8>)
  --retries <N>              attempts, clamped to 1-3 (default: config, 1)
  --validate                 strict handoff validation (the default)
  --no-validate              lenient validation: status and result only
  --workflow-id <id>         workflow run id, echoed as workflowRunId
  --step-id <id>             workflow step id, echoed as stepId
  --caller <principal>       who delegates, checked by the ACL (default: config operatorPrincipal)
  --channel-context <#name|id>  prepend recent Discord channel history as untrusted context
                             (reads with DISCORD_TOKEN from the environment)
  --channel-messages <N>     messages to fetch, clamped to 1-30 (default: 20)
  -h, --help                 show this help

environment (each also read from a .env file in the working directory; the environment wins):
  HQ_CONFIG                  the config file (default: ./hq-delegate.config.json in the working
                             directory, all defaults when it does not exist); paths in it are
                             relative to the file
  HQ_HOOKS_TOKEN             the agents' hooks token (hooks.token in each gateway's openclaw.json)
  HQ_HOOKS_TOKEN_<AGENT>     one agent's hooks token, over the shared one (HQ_HOOKS_TOKEN_TECH_LEAD)
  DISCORD_TOKEN              the bot's token, for --channel-context
  LOG_LEVEL                  what is logged on stderr, fatal to trace or silent (default: warn)
`;

const OPTIONS = {
  wait: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  format: { type: 'string' },
  context: { type: 'string' },
  'no-deliver': { type: 'boolean' },
  'run-id': { type: 'string' },
  retries: { type: 'string' },
  validate: { type: 'boolean' },
  'no-validate': { type: 'boolean' },
  'workflow-id': { type: 'string' },
  'step-id': { type: 'string' },
  caller: { type: 'string' },
  'channel-context': { type: 'string' },
  'channel-messages': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const LONG_NAMES = Object.keys(OPTIONS);

/** argparse accepts any unique prefix of a long option; expand it so parseArgs sees the full name. */
function expandAbbreviations(argv: readonly string[]): string[] {
  const out: string[] = [];
  let positionalOnly = false;
  for (const arg of argv) {
    if (positionalOnly || !arg.startsWith('--') || arg === '--') {
      if (arg === '--') positionalOnly = true;
      out.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const rest = eq === -1 ? '' : arg.slice(eq);
    if (LONG_NAMES.includes(name)) {
      out.push(arg);
      continue;
    }
    const matches = LONG_NAMES.filter((candidate) => candidate.startsWith(name));
    if (matches.length > 1) {
      throw new UsageError(`ambiguous option: --${name} could match ${matches.map((m) => `--${m}`).join(', ')}`);
    }
    out.push(matches.length === 1 ? `--${matches[0]}${rest}` : arg);
  }
  return out;
}

function parseInteger(flag: string, raw: string): number {
  const text = raw.trim();
  if (!/^[+-]?\d{1,9}$/.test(text)) throw new UsageError(`argument --${flag}: invalid int value: '${raw}'`);
  return Number.parseInt(text, 10);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** The last of an on/off pair on the command line wins, as with argparse's shared `dest`. */
function lastSwitch(tokens: readonly { kind: string; name?: string }[], on: string, off: string): boolean | undefined {
  let value: boolean | undefined;
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (token.name === on) value = true;
    else if (token.name === off) value = false;
  }
  return value;
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0) throw new UsageError(`argument --${flag}: expected a non-empty value`);
  return value;
}

/**
 * The reference took an empty id as "make one up"; here it is refused: `--run-id "$ID"` with ID
 * unset would otherwise start a run no later step can find. The id's shape is checked by the caller.
 */
function runIdOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim().length === 0) {
    throw new UsageError(
      'argument --run-id: the run id is empty (an unset shell variable?); give an id, or leave --run-id out to have one made',
    );
  }
  return value;
}

export function parseCliArgs(argv: readonly string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: expandAbbreviations(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
  const { values, positionals, tokens } = parsed;
  if (values.help) return { kind: 'help' };

  if (positionals.length < 2) {
    const missing = positionals.length === 0 ? 'agent, task' : 'task';
    throw new UsageError(`the following arguments are required: ${missing}`);
  }
  if (positionals.length > 2) {
    throw new UsageError(
      `unrecognized arguments: ${positionals.slice(2).join(' ')} (quote the task: orchestrate <agent> "<task>")`,
    );
  }
  const [agent, task] = positionals as [string, string];
  if (agent.length === 0) throw new UsageError('argument agent: expected a non-empty agent name');
  if (task.trim().length === 0) throw new UsageError('argument task: expected a non-empty task');

  const format = values.format ?? 'json';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`argument --format: invalid choice: '${format}' (choose from 'json', 'text')`);
  }

  let timeoutSeconds: number | undefined;
  if (values.timeout !== undefined) {
    timeoutSeconds = parseInteger('timeout', values.timeout);
    if (timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw new UsageError(
        `argument --timeout: expected seconds between 1 and ${MAX_TIMEOUT_SECONDS}, got ${timeoutSeconds}`,
      );
    }
  }

  const maxAttempts = values.retries === undefined ? undefined : clamp(parseInteger('retries', values.retries), 1, 3);
  const channelMessages =
    values['channel-messages'] === undefined
      ? DEFAULT_CHANNEL_MESSAGES
      : clamp(parseInteger('channel-messages', values['channel-messages']), 1, MAX_CHANNEL_MESSAGES);

  return {
    kind: 'run',
    options: {
      agent,
      task,
      wait: lastSwitch(tokens, 'wait', 'no-wait') ?? true,
      timeoutSeconds,
      format: format as OutputFormat,
      contextPath: nonEmpty('context', values.context),
      deliver: values['no-deliver'] ? false : undefined,
      runId: runIdOf(values['run-id']),
      maxAttempts,
      strict: lastSwitch(tokens, 'validate', 'no-validate'),
      workflowId: nonEmpty('workflow-id', values['workflow-id']),
      stepId: nonEmpty('step-id', values['step-id']),
      caller: nonEmpty('caller', values.caller),
      channelContext: nonEmpty('channel-context', values['channel-context']),
      channelMessages,
    },
  };
}
