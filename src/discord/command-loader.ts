/**
 * Imports every module in a folder and maps the default exports the Command predicate accepts
 * by name. The bot and deploy-commands get the same map: what is registered is what is handled.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isCommand, type Command } from './command.ts';

export interface LoadedCommands {
  readonly commands: ReadonlyMap<string, Command>;
  /** A module that is not a Command is a bug worth a log line. */
  readonly skipped: readonly { file: string; reason: string }[];
}

export async function loadCommandsFrom(dir: string): Promise<LoadedCommands> {
  const files = (await readdir(dir))
    .filter((file) => /\.(ts|js|mjs)$/.test(file) && !file.endsWith('.d.ts') && !/^index\./.test(file))
    .sort();
  const commands = new Map<string, Command>();
  const skipped: { file: string; reason: string }[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(path.join(dir, file)).href)) as { default?: unknown };
    if (!isCommand(module.default)) {
      skipped.push({ file, reason: 'its default export is not a Command ({ data, execute })' });
      continue;
    }
    const name = module.default.data.name;
    if (commands.has(name)) {
      skipped.push({ file, reason: `a command named '${name}' is already loaded` });
      continue;
    }
    commands.set(name, module.default);
  }
  return { commands, skipped };
}
