/**
 * The orchestrate command as a function: arguments in, printed output and an exit code out.
 * Wiring only: parse → dotenv → config → logger → engine → context → engine.delegate → render.
 * stdout carries only the result; logs and human notes go to stderr.
 */
import { readFile, stat } from 'node:fs/promises';
import { config as loadDotenv } from 'dotenv';
import { authorize } from '../access/acl.ts';
import { loadConfig, type Config } from '../config.ts';
import { createEngine } from '../engine/engine.ts';
import { engineSettingsOf } from '../engine-settings.ts';
import { createEventLog, EventName, type EventLog } from '../engine/event-log.ts';
import { newRunId, validateRunId } from '../engine/run-id.ts';
import type { DelegationRequest, Engine, RunResult } from '../engine/types.ts';
import { AccessDeniedError, ErrorCode, HqError, isHqError, UnknownAgentError, UsageError } from '../errors.ts';
import { startHandoffListener, type HandoffListener } from '../handoffs/http-listener.ts';
import { createLogger, type Logger } from '../log.ts';
import { readChannelContext } from './channel-context-source.ts';
import { parseCliArgs, USAGE, type CliOptions } from './parse-args.ts';
import { renderRefused, renderRunResult, renderUsageError, EXIT_OK, type Rendered } from './render-output.ts';

interface CliIo {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: the run ends as `cancelled` and is still printed. */
  readonly signal?: AbortSignal;
}

interface CliOutcome extends Rendered {
  /** Closes what the run opened (watcher, HTTP pools, logger); call after printing. */
  readonly close: () => Promise<void>;
}

function outcome(rendered: Rendered, close = async (): Promise<void> => {}): CliOutcome {
  return { ...rendered, close };
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
      code === 'ENOENT'
        ? `Context file not found: ${file}`
        : `Context file cannot be read (${code ?? 'error'}): ${file}`,
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

function buildRequest(
  options: CliOptions,
  config: Config,
  runId: string,
  task: string,
  context: string | undefined,
): DelegationRequest {
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
 * The engine's own checks (agent, ACL, in its order, denial logged as it logs it; the run id is
 * checked first of all), made before a context is gathered so that a refused request reads
 * nothing. The engine checks again.
 */
function checkBeforeGatheringContext(
  engine: Engine,
  events: EventLog,
  options: CliOptions,
  config: Config,
  runId: string,
): void {
  const known = engine.agents().map((agent) => agent.name);
  if (!known.includes(options.agent)) throw new UnknownAgentError(options.agent, [...known].sort());
  const principals = [options.caller ?? config.operatorPrincipal];
  const decision = authorize(principals, options.agent, config.acl);
  if (decision.allowed) return;
  events.write({
    runId,
    agent: options.agent,
    event: EventName.aclDenied,
    detail: `caller=${principals.join(',')}`,
    extra: { code: decision.code },
  });
  throw new AccessDeniedError(`ACL denied: ${decision.reason}`);
}

/** The CLI's own way out of a failure, added to what the engine says happened. */
function withCliAdvice(result: RunResult): RunResult {
  if (result.code !== ErrorCode.GATEWAY_DELIVERY) return result;
  const advice = '--no-deliver avoids it: the gateway then does not announce the run, and the result is printed here';
  return { ...result, notes: `${result.notes ?? ''}. ${advice}` };
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

  // As in the reference, the run id exists (and is printed) even when the request is refused.
  const runId = options.runId ?? newRunId();
  const refuse = (error: HqError): Rendered =>
    renderRefused({ agent: options.agent, runId, notes: error.message, code: error.code });
  // A bad id is the command line's fault (exit 2): refused before the config, a file or a gateway.
  try {
    validateRunId(runId);
  } catch (error) {
    if (isHqError(error)) return outcome(refuse(error));
    throw error;
  }

  loadDotenv({ quiet: true });
  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (isHqError(error)) return outcome(refuse(error));
    throw error;
  }

  // Warn unless LOG_LEVEL says otherwise: a script reading stdout wants quiet.
  const log = createLogger({ level: io.env.LOG_LEVEL ? config.logLevel : 'warn' });
  const eventLog = createEventLog({ dir: config.paths.logDir });
  let engine: Engine | undefined;
  let listener: HandoffListener | undefined;
  const close = async (): Promise<void> => {
    // The engine closes the event log; the logger's last lines are flushed after it.
    await engine?.close();
    await listener?.close();
    await new Promise<void>((resolve) => log.flush(() => resolve()));
  };

  try {
    const running = createEngine({ settings: engineSettingsOf(config), log, eventLog });
    engine = running;
    if (options.contextPath !== undefined || options.channelContext !== undefined)
      checkBeforeGatheringContext(running, eventLog, options, config, runId);
    const context =
      options.contextPath === undefined
        ? undefined
        : await readContextFile(options.contextPath, config.discord.contextFileMaxBytes);
    let task = options.task;
    if (options.channelContext !== undefined) {
      const history = await readChannelContext({
        config,
        channel: options.channelContext,
        count: options.channelMessages,
      });
      // The reference's `f"{ch_ctx}\n\n{task}"`.
      task = `${history}\n\n${task}`;
    }
    listener = await listenForHttpHandoff(running, config, options.agent, log);
    const request = buildRequest(options, config, runId, task, context);
    const result: RunResult = await running.delegate(request, io.signal === undefined ? {} : { signal: io.signal });
    return outcome(renderRunResult(withCliAdvice(result), options.format), close);
  } catch (error) {
    if (isHqError(error)) {
      log.info({ runId, agent: options.agent, code: error.code }, error.message);
      return outcome(refuse(error), close);
    }
    throw error;
  }
}

/**
 * An `http` agent answers by PUT: this process listens for the run's handoff itself, on the
 * configured listener (so not while the bot holds that port). Without one, the engine refuses
 * the run with a config error naming handoffListener.
 */
async function listenForHttpHandoff(
  engine: Engine,
  config: Config,
  agent: string,
  log: Logger,
): Promise<HandoffListener | undefined> {
  const endpoint = engine.agents().find((candidate) => candidate.name === agent);
  if (endpoint?.handoff !== 'http' || config.handoffListener === undefined) return undefined;
  return startHandoffListener({
    ...config.handoffListener,
    receiver: engine.handoffs,
    maxBytes: config.engine.maxHandoffBytes,
    log,
  });
}
