/**
 * The orchestrate command as a function: arguments in, printed output and an exit code out.
 * Wiring only: parse → dotenv → config → logger → engine → (run id, agent, ACL checked before
 * any context is read) → context file / channel history → engine.delegate (checks again, probes
 * health, runs the attempts) → render. stdout carries only the result; logs and human notes go
 * to stderr. pino is loaded once the POST is out: until then the logger and the event log hold
 * their lines (deferred-logs.ts), so its loading is not on the way to the agent.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Config } from '../config.ts';
import type { EventLog } from '../engine/events.ts';
import type { DelegationRequest, Engine, RunResult } from '../engine/types.ts';
import { AccessDeniedError, ErrorCode, HqError, isHqError, UnknownAgentError, UsageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { parseCliArgs, USAGE, type CliOptions } from './parse-args.ts';
import { renderRefused, renderRunResult, renderUsageError, EXIT_OK, type Rendered } from './render-output.ts';

/**
 * Everything heavy (zod, pino, undici, chokidar), loaded only once the arguments are known
 * good: `--help` and usage errors answer at Node's start-up speed.
 */
async function loadParts() {
  await import('./zod-jitless.ts');
  const [dotenv, parts] = await Promise.all([needsDotenv() ? import('dotenv') : undefined, import('./run-parts.ts')]);
  return {
    ...parts,
    // dotenv is CommonJS: its module.exports is the default export, here and in the bundle alike
    // (a bundle chunk made from a CommonJS package has no named exports).
    loadDotenv: (options: { quiet: boolean }): void => void dotenv?.default.config(options),
  };
}
type Parts = Awaited<ReturnType<typeof loadParts>>;

/**
 * Whether dotenv has anything to do: its default `.env` in the working directory, or an
 * encrypted `.env.vault` named by DOTENV_KEY. Without either, `config()` changes nothing,
 * and not loading it saves a few milliseconds (it pulls in node:crypto).
 */
function needsDotenv(): boolean {
  return Boolean(process.env.DOTENV_KEY) || existsSync('.env');
}

export interface CliIo {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: the run ends as `cancelled` and is still printed. */
  readonly signal?: AbortSignal;
  /**
   * Called once the modules on the way to the POST are loaded, just before the run talks to
   * its gateway: the process entry sets run-time V8 flags here (see orchestrate.ts).
   */
  readonly beforeRun?: () => void;
}

export interface CliOutcome extends Rendered {
  /** Closes what the run opened (watcher, HTTP pools, logger); call after printing. */
  readonly close: () => Promise<void>;
}

const NOTHING_TO_CLOSE = async (): Promise<void> => {};

function outcome(rendered: Rendered, close: () => Promise<void> = NOTHING_TO_CLOSE): CliOutcome {
  return { ...rendered, close };
}

/** The CLI logs at warn unless LOG_LEVEL says otherwise: a script reading stdout wants quiet. */
function cliLogLevel(config: Config, env: NodeJS.ProcessEnv): string {
  return env.LOG_LEVEL ? config.logLevel : 'warn';
}

async function readContextFile(file: string, maxBytes: number): Promise<string> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new HqError(ErrorCode.CONTEXT_UNAVAILABLE, `Context file is not a regular file: ${file}`);
    size = info.size;
  } catch (error) {
    if (isHqError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new HqError(
      ErrorCode.CONTEXT_UNAVAILABLE,
      code === 'ENOENT' ? `Context file not found: ${file}` : `Context file cannot be read (${code ?? 'error'}): ${file}`,
      { cause: error },
    );
  }
  if (size > maxBytes) {
    throw new HqError(
      ErrorCode.CONTEXT_UNAVAILABLE,
      `Context file is ${size} bytes, over the ${maxBytes}-byte cap (discord.contextFileMaxBytes): ${file}`,
    );
  }
  return readFile(file, 'utf8');
}

function buildRequest(options: CliOptions, config: Config, runId: string, task: string, context: string | undefined): DelegationRequest {
  return {
    runId,
    agent: options.agent,
    task,
    principals: [options.caller ?? config.operatorPrincipal],
    ...(context === undefined ? {} : { context }),
    maxAttempts: options.maxAttempts ?? config.engine.defaultMaxAttempts,
    timeoutSeconds: options.timeoutSeconds ?? config.engine.defaultTimeoutSeconds,
    strict: options.strict ?? config.engine.strict,
    deliver: options.deliver ?? config.engine.deliver,
    wait: options.wait,
    ...(options.workflowId === undefined ? {} : { workflowRunId: options.workflowId }),
    ...(options.stepId === undefined ? {} : { stepId: options.stepId }),
    origin: { kind: 'cli' },
  };
}

/**
 * With a context to gather (file, channel history) the engine's own checks (run id, agent,
 * ACL, in its order) are made here first, so a refused request reads nothing; the denial is
 * written to the event log as the engine writes it. The engine checks all of them again.
 */
function checkBeforeGatheringContext(parts: Parts, engine: Engine, events: EventLog, options: CliOptions, config: Config, runId: string): void {
  const { authorize, EventName, validateRunId } = parts;
  validateRunId(runId);
  const known = engine.agents().map((agent) => agent.name);
  if (!known.includes(options.agent)) throw new UnknownAgentError(options.agent, [...known].sort());
  const principals = [options.caller ?? config.operatorPrincipal];
  const decision = authorize(principals, options.agent, config.acl);
  if (decision.allowed) return;
  events.write({ runId, agent: options.agent, event: EventName.aclDenied, detail: `caller=${principals.join(',')}`, extra: { code: decision.code } });
  throw new AccessDeniedError(`ACL denied: ${decision.reason}`);
}

export async function runCli(io: CliIo): Promise<CliOutcome> {
  let options: CliOptions;
  try {
    const parsed = parseCliArgs(io.argv);
    if (parsed.kind === 'help') return outcome({ stdout: USAGE, exitCode: EXIT_OK });
    options = parsed.options;
  } catch (error) {
    if (error instanceof UsageError) return outcome(renderUsageError(error.message, USAGE));
    throw error;
  }

  const parts = await loadParts();
  const { createDeferredLogs, createEngine, engineSettingsOf, loadConfig, loadDotenv, readChannelContext } = parts;
  // As in the reference, the run id exists (and is printed) even when the request is refused.
  const runId = options.runId ?? parts.newRunId();
  const refuse = (error: HqError): Rendered => renderRefused({ agent: options.agent, runId, notes: error.message, code: error.code });

  loadDotenv({ quiet: true });
  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (isHqError(error)) return outcome(refuse(error));
    throw error;
  }

  const logs = createDeferredLogs();
  const log: Logger = logs.log;
  let loadingLogs: Promise<void> | undefined;
  const loadLogs = (): Promise<void> =>
    (loadingLogs ??= import('./log-parts.ts').then(({ createEventLog, createLogger }) =>
      logs.attach({
        log: createLogger({ level: cliLogLevel(config, io.env), now: logs.clock }),
        eventLog: createEventLog({ dir: config.paths.logDir, now: () => new Date(logs.clock()) }),
      }),
    ));
  const closeLog = (): Promise<void> => new Promise((resolve) => log.flush(() => resolve()));
  let engine: Engine | undefined;
  const close = async (): Promise<void> => {
    await loadLogs();
    await engine?.close();
    await closeLog();
  };

  try {
    const running = createEngine({ settings: engineSettingsOf(config), log, eventLog: logs.eventLog });
    engine = running;
    if (options.contextPath !== undefined || options.channelContext !== undefined) checkBeforeGatheringContext(parts, running, logs.eventLog, options, config, runId);
    const context = options.contextPath === undefined ? undefined : await readContextFile(options.contextPath, config.discord.contextFileMaxBytes);
    let task = options.task;
    if (options.channelContext !== undefined) {
      const history = await readChannelContext({ config, channel: options.channelContext, count: options.channelMessages });
      // The reference's `f"{ch_ctx}\n\n{task}"`.
      task = `${history}\n\n${task}`;
    }
    const request = buildRequest(options, config, runId, task, context);
    io.beforeRun?.();
    const result: RunResult = await running.delegate(request, {
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      // The POST is out: pino loads while the agent works. A failure to load shows at close.
      onProgress: (progress) => {
        if (progress.type === 'sent') loadLogs().catch(() => undefined);
      },
    });
    return outcome(renderRunResult(result, options.format), close);
  } catch (error) {
    if (isHqError(error)) {
      log.info({ runId, agent: options.agent, code: error.code }, error.message);
      return outcome(refuse(error), close);
    }
    throw error;
  }
}
