/**
 * Reads the Dockerfile and rebuilds a stage's file system in a temp dir, so a test can run what
 * the image would run without a Docker engine (there is none on the dev machines or in CI).
 *
 * The parser knows the Dockerfile syntax this project uses and a little more; anything it does
 * not know (heredocs, `${VAR:-x}`, an `escape` directive, a RUN command it cannot reproduce…)
 * throws an UnsupportedDockerfile error naming it, so a change to the Dockerfile fails the test
 * loudly instead of being half understood.
 *
 * Container paths are mapped under the stage's temp root: `/app/state` → `<root>/app/state`.
 */
import { spawn } from 'node:child_process';
import { copyFile, cp, link, mkdir, readdir, readFile, readlink, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';

export class UnsupportedDockerfile extends Error {
  override readonly name = 'UnsupportedDockerfile';
}

/** npm could not reach the registry or its cache (a test skips then, rather than failing). */
export class NpmUnavailable extends Error {
  override readonly name = 'NpmUnavailable';
}

export interface Instruction {
  /** Upper case: FROM, COPY, RUN… */
  readonly keyword: string;
  /** The text after the keyword, continuation lines joined. */
  readonly args: string;
  readonly line: number;
}

export interface CopyInstruction {
  /** Undefined: the build context. */
  readonly from: string | undefined;
  readonly chown: string | undefined;
  readonly sources: readonly string[];
  readonly dest: string;
}

export interface HealthCheck {
  readonly argv: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly startPeriodMs: number;
  readonly retries: number;
}

export interface Stage {
  readonly index: number;
  /** Lower case, as Docker matches stage names. */
  readonly name: string | undefined;
  /** The FROM reference as written (an image, or an earlier stage's name). */
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  readonly stages: readonly Stage[];
  /** A stage by name or index (as `--from` accepts). */
  stage(ref: string): Stage | undefined;
  /** The image a stage ends up on, through `FROM <earlier stage>` links. */
  baseImage(stage: Stage): string;
}

/** What a stage's instructions amount to, in order (later ENV/CMD/… win, as in Docker). */
export interface StageSummary {
  readonly env: Readonly<Record<string, string>>;
  /** Absolute container path; `/` when never set. */
  readonly workdir: string;
  readonly user: string | undefined;
  readonly copies: readonly CopyInstruction[];
  readonly volumes: readonly string[];
  /** `undefined`: none declared in this Dockerfile; `null`: HEALTHCHECK NONE. */
  readonly healthcheck: HealthCheck | null | undefined;
  readonly entrypoint: readonly string[] | undefined;
  readonly cmd: readonly string[] | undefined;
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions = splitInstructions(text);
  const stages: Stage[] = [];
  let current: { index: number; name: string | undefined; base: string; instructions: Instruction[] } | undefined;
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = shellWords(instruction.args, {}).filter((word) => !word.startsWith('--platform='));
      const [base, as, name] = words;
      if (
        base === undefined ||
        (as !== undefined && (as.toLowerCase() !== 'as' || name === undefined)) ||
        words.length > 3
      ) {
        throw new UnsupportedDockerfile(`line ${instruction.line}: FROM ${instruction.args}`);
      }
      current = { index: stages.length, name: name?.toLowerCase(), base, instructions: [] };
      stages.push(current);
    } else if (current) {
      current.instructions.push(instruction);
    } else {
      // A global ARG would feed FROM substitution, which this parser does not do.
      throw new UnsupportedDockerfile(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
    }
  }
  const stage = (ref: string): Stage | undefined =>
    stages.find((candidate) => candidate.name === ref.toLowerCase()) ??
    (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
  const baseImage = (of: Stage): string => {
    const parent = stages.slice(0, of.index).find((candidate) => candidate.name === of.base.toLowerCase());
    return parent ? baseImage(parent) : of.base;
  };
  return { stages, stage, baseImage };
}

/** Keyword + arguments per instruction: comments dropped, `\` continuations joined. */
function splitInstructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const result: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  for (const [index, raw] of lines.entries()) {
    const trimmed = raw.trim();
    if (/^#\s*escape\s*=/i.test(trimmed) && result.length === 0 && pending === undefined) {
      throw new UnsupportedDockerfile('the escape parser directive');
    }
    // Comment lines end nothing: inside a continuation Docker drops them too.
    if (trimmed.startsWith('#')) continue;
    if (pending === undefined && trimmed === '') continue;
    const continued = /\\\s*$/.test(raw);
    const part = continued ? raw.replace(/\\\s*$/, '') : raw;
    pending =
      pending === undefined
        ? { text: part.trim(), line: index + 1 }
        : { text: `${pending.text} ${part.trim()}`, line: pending.line };
    if (continued) continue;
    const match = /^(\S+)\s*(.*)$/s.exec(pending.text);
    if (match) {
      const args = match[2]!.trim();
      if (/<<-?\s*["']?\w/.test(args) && ['RUN', 'COPY', 'ADD'].includes(match[1]!.toUpperCase()))
        throw new UnsupportedDockerfile(`line ${pending.line}: heredoc`);
      result.push({ keyword: match[1]!.toUpperCase(), args, line: pending.line });
    }
    pending = undefined;
  }
  if (pending !== undefined)
    throw new UnsupportedDockerfile(`line ${pending.line}: the file ends inside a continuation`);
  return result;
}

/** The exec form (a JSON array of strings), or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    // Docker runs a malformed JSON array as a shell command; so does this parser.
    return undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) return undefined;
  return parsed;
}

/** CMD, ENTRYPOINT and HEALTHCHECK CMD as the argv Docker runs: the shell form goes through /bin/sh -c. */
function commandArgv(args: string): string[] {
  return execForm(args) ?? ['/bin/sh', '-c', args];
}

type Token = { readonly word: string } | { readonly op: string };

/**
 * Shell-like words: quotes, backslash escapes, `$VAR`/`${VAR}` from `vars`, and the operators
 * (`&&`, `;`, `|`, `>`…) as separate tokens. Enough for ENV, COPY, VOLUME and simple RUN lines.
 */
function tokenize(text: string, vars: Readonly<Record<string, string>>): Token[] {
  const tokens: Token[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const flush = (): void => {
    if (inWord) tokens.push({ word });
    word = '';
    inWord = false;
  };
  const variable = (): string => {
    // At a `$`: returns the value and moves `i` past the reference.
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(text.slice(i));
    const bare = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
    const match = braced ?? bare;
    if (!match) throw new UnsupportedDockerfile(`unsupported $ expression in: ${text}`);
    const value = vars[match[1]!];
    if (value === undefined)
      throw new UnsupportedDockerfile(`$${match[1]} is not set by this Dockerfile (in: ${text})`);
    i += match[0].length;
    return value;
  };
  while (i < text.length) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      flush();
      i += 1;
    } else if (char === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new UnsupportedDockerfile(`unterminated quote in: ${text}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (char === '"') {
      inWord = true;
      i += 1;
      for (;;) {
        if (i >= text.length) throw new UnsupportedDockerfile(`unterminated quote in: ${text}`);
        const inner = text[i]!;
        if (inner === '"') break;
        if (inner === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
        } else if (inner === '$') {
          word += variable();
        } else if (inner === '`') {
          throw new UnsupportedDockerfile(`command substitution in: ${text}`);
        } else {
          word += inner;
          i += 1;
        }
      }
      i += 1;
    } else if (char === '\\') {
      word += text[i + 1] ?? '';
      inWord = true;
      i += 2;
    } else if (char === '$') {
      if (text[i + 1] === '(') throw new UnsupportedDockerfile(`command substitution in: ${text}`);
      word += variable();
      inWord = true;
    } else if (char === '`') {
      throw new UnsupportedDockerfile(`command substitution in: ${text}`);
    } else if ('&|;<>()'.includes(char)) {
      flush();
      const op = /^(&&|\|\||>>|[&|;<>()])/.exec(text.slice(i))![0];
      tokens.push({ op });
      i += op.length;
    } else {
      word += char;
      inWord = true;
      i += 1;
    }
  }
  flush();
  return tokens;
}

function shellWords(text: string, vars: Readonly<Record<string, string>>): string[] {
  return tokenize(text, vars).map((token) => {
    if ('op' in token) throw new UnsupportedDockerfile(`unexpected "${token.op}" in: ${text}`);
    return token.word;
  });
}

/** Leading `--name=value` / `--flag` options, and the rest. */
function splitFlags(words: readonly string[]): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  let index = 0;
  for (; index < words.length && words[index]!.startsWith('--'); index += 1) {
    const [name, ...value] = words[index]!.slice(2).split('=');
    flags.set(name!, value.join('='));
  }
  return { flags, rest: words.slice(index) };
}

/** Go's time.Duration syntax, as HEALTHCHECK options use it: `30s`, `1m30s`, `500ms`. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  if (rest === '0') return 0;
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!match) throw new UnsupportedDockerfile(`duration "${text}"`);
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}

// Docker's defaults when a HEALTHCHECK option is not given.
const HEALTHCHECK_DEFAULTS = { interval: '30s', timeout: '30s', 'start-period': '0s', retries: '3' };

function parseHealthcheck(args: string, vars: Readonly<Record<string, string>>): HealthCheck | null {
  if (args.toUpperCase() === 'NONE') return null;
  const match = /^((?:--\S+\s+)*)CMD\s+(.*)$/is.exec(args);
  if (!match) throw new UnsupportedDockerfile(`HEALTHCHECK ${args}`);
  const { flags } = splitFlags(shellWords(match[1]!, vars));
  const option = (name: keyof typeof HEALTHCHECK_DEFAULTS): string => flags.get(name) ?? HEALTHCHECK_DEFAULTS[name];
  return {
    argv: commandArgv(match[2]!.trim()),
    intervalMs: parseDuration(option('interval')),
    timeoutMs: parseDuration(option('timeout')),
    startPeriodMs: parseDuration(option('start-period')),
    retries: Number(option('retries')),
  };
}

function parseEnv(args: string, vars: Record<string, string>): Record<string, string> {
  const words = shellWords(args, vars);
  if (words.length > 0 && !words[0]!.includes('=')) {
    // The legacy `ENV key value` form: one variable, the rest of the line is its value.
    const [key, ...value] = words;
    return { [key!]: value.join(' ') };
  }
  return Object.fromEntries(
    words.map((word) => {
      const at = word.indexOf('=');
      if (at <= 0) throw new UnsupportedDockerfile(`ENV ${args}`);
      return [word.slice(0, at), word.slice(at + 1)];
    }),
  );
}

function parseCopy(args: string, vars: Readonly<Record<string, string>>, line: number): CopyInstruction {
  const leading = /^((?:--\S+\s+)*)(.*)$/s.exec(args)!;
  const { flags } = splitFlags(shellWords(leading[1]!, vars));
  const paths = execForm(leading[2]!.trim()) ?? shellWords(leading[2]!, vars);
  for (const flag of flags.keys()) {
    if (!['from', 'chown', 'chmod', 'link'].includes(flag))
      throw new UnsupportedDockerfile(`line ${line}: COPY --${flag}`);
  }
  if (paths.length < 2) throw new UnsupportedDockerfile(`line ${line}: COPY ${args}`);
  return { from: flags.get('from'), chown: flags.get('chown'), sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** The stage's ENV, WORKDIR, USER, COPY, VOLUME, HEALTHCHECK, ENTRYPOINT and CMD, inherited through `FROM <stage>`. */
export function summarizeStage(dockerfile: Dockerfile, stage: Stage): StageSummary {
  const parent = dockerfile.stages
    .slice(0, stage.index)
    .find((candidate) => candidate.name === stage.base.toLowerCase());
  const inherited = parent ? summarizeStage(dockerfile, parent) : undefined;
  const env: Record<string, string> = { ...inherited?.env };
  let workdir = inherited?.workdir ?? '/';
  let user = inherited?.user;
  const volumes = [...(inherited?.volumes ?? [])];
  let healthcheck = inherited?.healthcheck;
  let entrypoint = inherited?.entrypoint;
  let cmd = inherited?.cmd;
  const copies: CopyInstruction[] = [];
  for (const { keyword, args, line } of stage.instructions) {
    switch (keyword) {
      case 'ENV':
        Object.assign(env, parseEnv(args, env));
        break;
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, shellWords(args, env).join(' '));
        break;
      case 'USER':
        user = shellWords(args, env).join(' ');
        break;
      case 'COPY':
        copies.push(parseCopy(args, env, line));
        break;
      case 'VOLUME':
        volumes.push(...(execForm(args) ?? shellWords(args, env)).map((volume) => path.posix.resolve(workdir, volume)));
        break;
      case 'HEALTHCHECK':
        healthcheck = parseHealthcheck(args, env);
        break;
      case 'ENTRYPOINT':
        entrypoint = commandArgv(args);
        // Docker drops an inherited CMD when a stage sets its ENTRYPOINT.
        cmd = undefined;
        break;
      case 'CMD':
        cmd = commandArgv(args);
        break;
      case 'ADD':
        throw new UnsupportedDockerfile(`line ${line}: ADD (use COPY, or teach test/support/dockerfile.ts)`);
      case 'ARG':
      case 'ONBUILD':
      case 'SHELL':
        throw new UnsupportedDockerfile(`line ${line}: ${keyword}`);
      default:
        // RUN is reproduced by reproduceStage; EXPOSE, LABEL, STOPSIGNAL… change no file.
        break;
    }
  }
  return { env, workdir, user, copies, volumes, healthcheck, entrypoint, cmd };
}

/** What a `RUN` did that a test cannot reproduce as an unprivileged copy: who owns which path. */
export interface Ownership {
  /** Absolute container path. */
  readonly path: string;
  /** The user part of `user[:group]`. */
  readonly owner: string;
  readonly recursive: boolean;
}

export interface StageLayout {
  /** The container's `/` on this machine. */
  readonly root: string;
  readonly summary: StageSummary;
  /** A container path (absolute, or relative to WORKDIR) → its place under `root`. */
  hostPath(containerPath: string): string;
  /** Recorded from mkdir (as the USER of the time), chown and COPY --chown, in order. */
  readonly ownership: readonly Ownership[];
}

export interface ReproduceOptions {
  readonly dockerfile: Dockerfile;
  /** The build context (the repo root). */
  readonly context: string;
  /** An empty dir; each stage gets a subdir. */
  readonly scratch: string;
  /** Put first on PATH for `npm` in RUN lines (the project's Node 24). */
  readonly nodeDir: string;
}

/**
 * Rebuilds `stage`'s files under a temp root: COPY from the context (honouring .dockerignore)
 * and from earlier stages (rebuilt the same way), WORKDIR and the RUN lines this module can
 * reproduce: `npm …` (with the npm cache, no install scripts), `mkdir`, `rm`, `chown`/`chmod`
 * (ownership recorded, not applied). Anything else throws UnsupportedDockerfile.
 */
export async function reproduceStage(stage: Stage, options: ReproduceOptions): Promise<StageLayout> {
  const built = new Map<number, Promise<StageLayout>>();
  const ignore = await readDockerignore(options.context);
  const build = (target: Stage): Promise<StageLayout> => {
    let layout = built.get(target.index);
    if (!layout) {
      layout = buildStage(target, options, ignore, build);
      built.set(target.index, layout);
    }
    return layout;
  };
  return build(stage);
}

async function buildStage(
  stage: Stage,
  options: ReproduceOptions,
  ignore: (relative: string) => boolean,
  build: (stage: Stage) => Promise<StageLayout>,
): Promise<StageLayout> {
  const { dockerfile } = options;
  const root = path.join(options.scratch, `stage-${stage.index}${stage.name ? `-${stage.name}` : ''}`);
  const parent = dockerfile.stages
    .slice(0, stage.index)
    .find((candidate) => candidate.name === stage.base.toLowerCase());
  const ownership: Ownership[] = [];
  if (parent) {
    const parentLayout = await build(parent);
    await cp(parentLayout.root, root, { recursive: true, verbatimSymlinks: true });
    ownership.push(...parentLayout.ownership);
  } else {
    await mkdir(root, { recursive: true });
  }
  const inRoot = (base: string, containerPath: string): string => {
    const absolute = path.posix.resolve(base, containerPath);
    return path.join(root, absolute);
  };

  // Walk the instructions again in order: RUN and COPY see the ENV/WORKDIR/USER of their line.
  const inheritedSummary = parent ? summarizeStage(dockerfile, parent) : undefined;
  let env: Record<string, string> = { ...inheritedSummary?.env };
  let workdir = inheritedSummary?.workdir ?? '/';
  let user = inheritedSummary?.user ?? 'root';
  for (const { keyword, args, line } of stage.instructions) {
    if (keyword === 'ENV') env = { ...env, ...parseEnv(args, env) };
    else if (keyword === 'WORKDIR') {
      workdir = path.posix.resolve(workdir, shellWords(args, env).join(' '));
      await mkdir(inRoot('/', workdir), { recursive: true });
    } else if (keyword === 'USER') user = shellWords(args, env).join(' ').split(':')[0]!;
    else if (keyword === 'COPY') {
      const copy = parseCopy(args, env, line);
      const dest = path.posix.resolve(workdir, copy.dest);
      const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
      for (const source of copy.sources) {
        if (/[*?[]/.test(source)) throw new UnsupportedDockerfile(`line ${line}: wildcard COPY source ${source}`);
        let from: string;
        let filter: ((src: string) => boolean) | undefined;
        if (copy.from === undefined) {
          from = path.resolve(options.context, source);
          if (path.relative(options.context, from).startsWith('..'))
            throw new UnsupportedDockerfile(`line ${line}: ${source} is outside the build context`);
          filter = (src) => !ignore(path.relative(options.context, src));
          if (!filter(from)) throw new Error(`line ${line}: COPY ${source}: excluded by .dockerignore`);
        } else {
          const other = dockerfile.stage(copy.from);
          if (!other || other.index >= stage.index)
            throw new UnsupportedDockerfile(
              `line ${line}: --from=${copy.from} is not an earlier stage (images are not pulled)`,
            );
          const otherLayout = await build(other);
          // --from sources are relative to the other stage's root, not its WORKDIR.
          from = path.join(otherLayout.root, path.posix.resolve('/', source));
        }
        const info = await stat(from).catch(() => undefined);
        if (!info)
          throw new Error(`line ${line}: COPY ${copy.from ? `--from=${copy.from} ` : ''}${source}: no such file`);
        const target =
          info.isDirectory() || !intoDir ? inRoot('/', dest) : path.join(inRoot('/', dest), path.basename(source));
        await mkdir(info.isDirectory() ? target : path.dirname(target), { recursive: true });
        // Another stage's files are scratch: hard links spare copying node_modules file by file
        // (seconds on a slow disk). The repo's files are copied, so nothing here can touch them.
        if (filter) await cp(from, target, { recursive: true, verbatimSymlinks: true, filter });
        else await linkTree(from, target);
      }
      if (copy.chown !== undefined) ownership.push({ path: dest, owner: copy.chown.split(':')[0]!, recursive: true });
    } else if (keyword === 'RUN') {
      await runLine(args, { env, workdir, user, line, inRoot, ownership, nodeDir: options.nodeDir });
    }
  }
  const summary = summarizeStage(dockerfile, stage);
  return { root, summary, hostPath: (containerPath) => inRoot(summary.workdir, containerPath), ownership };
}

/** `cp -al`: directories made, files hard-linked (copied across devices), symlinks kept as they are. */
async function linkTree(from: string, to: string): Promise<void> {
  if (!(await stat(from)).isDirectory()) return linkFile(from, to);
  await mkdir(to, { recursive: true });
  await Promise.all(
    (await readdir(from, { withFileTypes: true })).map(async (entry) => {
      const source = path.join(from, entry.name);
      const target = path.join(to, entry.name);
      if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
      else if (entry.isDirectory()) await linkTree(source, target);
      else await linkFile(source, target);
    }),
  );
}

async function linkFile(from: string, to: string): Promise<void> {
  await link(from, to).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EXDEV' && error.code !== 'EPERM') throw error;
    await copyFile(from, to);
  });
}

interface RunContext {
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string;
  readonly user: string;
  readonly line: number;
  readonly nodeDir: string;
  readonly ownership: Ownership[];
  inRoot(base: string, containerPath: string): string;
}

async function runLine(args: string, context: RunContext): Promise<void> {
  const leading = /^((?:--\S+\s+)*)(.*)$/s.exec(args)!;
  const { flags } = splitFlags(leading[1]!.trim().split(/\s+/).filter(Boolean));
  for (const flag of flags.keys()) {
    // A cache mount only speeds the build up; the test has its own npm cache.
    if (flag !== 'mount' || !flags.get(flag)!.startsWith('type=cache'))
      throw new UnsupportedDockerfile(`line ${context.line}: RUN --${flag}`);
  }
  const command = leading[2]!.trim();
  if (execForm(command)) throw new UnsupportedDockerfile(`line ${context.line}: RUN in exec form`);
  const commands: string[][] = [[]];
  for (const token of tokenize(command, context.env)) {
    if ('word' in token) commands.at(-1)!.push(token.word);
    else if (token.op === '&&' || token.op === ';') commands.push([]);
    else throw new UnsupportedDockerfile(`line ${context.line}: "${token.op}" in RUN ${command}`);
  }
  for (const argv of commands.filter((words) => words.length > 0)) await runCommand(argv, context);
}

async function runCommand(argv: readonly string[], context: RunContext): Promise<void> {
  const [name, ...words] = argv;
  const options = words.filter((word) => word.startsWith('-'));
  const operands = words.filter((word) => !word.startsWith('-'));
  const where = `line ${context.line}: RUN ${argv.join(' ')}`;
  switch (name) {
    case 'mkdir':
      for (const dir of operands) {
        await mkdir(context.inRoot(context.workdir, dir), { recursive: true });
        context.ownership.push({
          path: path.posix.resolve(context.workdir, dir),
          owner: context.user,
          recursive: false,
        });
      }
      return;
    case 'chown': {
      const [owner, ...paths] = operands;
      if (owner === undefined) throw new UnsupportedDockerfile(where);
      const recursive = options.some((option) => option === '-R' || option === '--recursive');
      for (const target of paths)
        context.ownership.push({
          path: path.posix.resolve(context.workdir, target),
          owner: owner.split(':')[0]!,
          recursive,
        });
      return;
    }
    case 'chmod':
      return;
    case 'rm':
      for (const target of operands)
        await rm(context.inRoot(context.workdir, target), { recursive: true, force: true });
      return;
    case 'npm':
      await runNpm(words, context, where);
      return;
    default:
      throw new UnsupportedDockerfile(
        `${where}: "${name}" cannot be reproduced here (teach test/support/dockerfile.ts)`,
      );
  }
}

/** What `npm ci`/`npm install` runs of the root package.json unless told --ignore-scripts, in order. */
const ROOT_INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'];

async function runNpm(words: readonly string[], context: RunContext, where: string): Promise<void> {
  const installs = ['ci', 'install', 'i'].includes(words[0] ?? '');
  const cwd = context.inRoot('/', context.workdir);
  const env = { ...process.env, ...context.env, PATH: `${context.nodeDir}${path.delimiter}${process.env.PATH ?? ''}` };
  // From the npm cache the CI's own `npm ci` filled, and without the dependencies' install
  // scripts: the only one is the `node` package's, a download of a Node binary no image runs.
  const extra = installs ? ['--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'] : [];
  await npm([...words, ...extra.filter((flag) => !words.includes(flag))], cwd, env, where);
  if (!installs || words.includes('--ignore-scripts')) return;
  // The root package's own install scripts do run in the image, with only the files this
  // stage has so far: run them the same way.
  const manifest = JSON.parse(await readFile(path.join(cwd, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  for (const script of ROOT_INSTALL_SCRIPTS) {
    if (manifest.scripts?.[script] !== undefined)
      await npm(['run', script], cwd, env, `${where} (its root ${script} script)`);
  }
}

async function npm(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, where: string): Promise<void> {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text = (text + chunk).slice(-8_000)));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text = (text + chunk).slice(-8_000)));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ code: exitCode, output: text }));
  });
  if (code === 0) return;
  if (/ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network/i.test(output)) {
    throw new NpmUnavailable(`${where}: npm ${args.join(' ')} needs the network or a fuller npm cache:\n${output}`);
  }
  throw new Error(`${where}: npm ${args.join(' ')} exited ${code}:\n${output}`);
}

/**
 * `.dockerignore` as Docker reads it: one pattern a line, `#` comments, `!` re-includes, the
 * last matching pattern wins, and a path is also excluded when a parent directory is.
 */
async function readDockerignore(context: string): Promise<(relative: string) => boolean> {
  const text = await readFile(path.join(context, '.dockerignore'), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const patterns = text
    .split(/\r?\n/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'))
    .map((entry) => {
      const negated = entry.startsWith('!');
      const pattern = path.posix
        .normalize((negated ? entry.slice(1) : entry).trim())
        .replace(/^\/+/, '')
        .replace(/\/+$/, '');
      return { negated, pattern };
    });
  const prefixes = (relative: string): string[] => {
    const parts = relative.split(path.sep);
    return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
  };
  return (relative) => {
    if (relative === '' || patterns.length === 0) return false;
    const candidates = prefixes(relative);
    let excluded = false;
    // As Docker's pattern matcher: a pattern counts when it matches the path or a parent; the last one that counts wins.
    for (const { negated, pattern } of patterns) {
      if (candidates.some((candidate) => path.matchesGlob(candidate, pattern))) excluded = !negated;
    }
    // An excluded directory is still walked when a `!` pattern may re-include something in it.
    if (excluded && patterns.some(({ negated, pattern }) => negated && pattern.startsWith(`${candidates.at(-1)}/`)))
      return false;
    return excluded;
  };
}
