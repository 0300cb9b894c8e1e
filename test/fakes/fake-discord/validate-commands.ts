/** Validation + normalisation of application command bulk-overwrite bodies (PUT .../commands). */
import type { APIApplicationCommand } from 'discord-api-types/v10';
import { FormErrors, REQUIRED, badLength, invalidFormBody, maxLength } from './errors.ts';
import { len } from './validate-message.ts';

const CHAT_INPUT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

type Path = (string | number)[];
type Rec = Record<string, unknown>;

const isObject = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkChatInputName(errors: FormErrors, path: Path, name: unknown, what: 'Command' | 'Option'): void {
  if (typeof name !== 'string' || name.length === 0) {
    errors.add(path, ...REQUIRED);
    return;
  }
  if (len(name) > 32) errors.add(path, ...badLength(1, 32));
  else if (!CHAT_INPUT_NAME.test(name) || name !== name.toLowerCase()) {
    errors.add(
      path,
      what === 'Command' ? 'APPLICATION_COMMAND_INVALID_NAME' : 'APPLICATION_COMMAND_OPTION_INVALID_NAME',
      `${what} name is invalid`,
    );
  }
}

function checkDescription(errors: FormErrors, path: Path, value: unknown): number {
  if (typeof value !== 'string' || value.length === 0) {
    errors.add(path, ...REQUIRED);
    return 0;
  }
  const n = len(value);
  if (n > 100) errors.add(path, ...badLength(1, 100));
  return n;
}

/** Returns the summed name/description/choice length, used for the 8000 char command size limit. */
function validateOptions(errors: FormErrors, path: Path, options: unknown, level: 'root' | 'group' | 'sub'): number {
  if (options === undefined || options === null) return 0;
  if (!Array.isArray(options)) {
    errors.add(path, 'BASE_TYPE_LIST', 'Must be a list.');
    return 0;
  }
  if (options.length > 25) errors.add(path, ...maxLength(25));
  let size = 0;
  const names = new Set<string>();
  let seenOptional = false;
  let subCount = 0;
  options.forEach((opt: unknown, i: number) => {
    const p: Path = [...path, i];
    if (!isObject(opt)) {
      errors.add(p, 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
      return;
    }
    const type = opt.type;
    if (typeof type !== 'number' || !Number.isInteger(type) || type < 1 || type > 11) {
      errors.add([...p, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.');
      return;
    }
    checkChatInputName(errors, [...p, 'name'], opt.name, 'Option');
    size += typeof opt.name === 'string' ? len(opt.name) : 0;
    size += checkDescription(errors, [...p, 'description'], opt.description);
    if (typeof opt.name === 'string') {
      if (names.has(opt.name)) {
        errors.add(
          [...p, 'name'],
          'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS',
          `Option name ${opt.name} is already used in these options`,
        );
      }
      names.add(opt.name);
    }
    const isSub = type === 1 || type === 2;
    if (isSub) {
      subCount++;
      if (level === 'sub' || (level === 'group' && type === 2)) {
        errors.add(
          [...p, 'type'],
          'APPLICATION_COMMAND_OPTION_TYPE_INVALID',
          'Sub-command and sub-command group option types are mutually exclusive to all other types',
        );
      }
      if (level === 'group' && type !== 1) {
        errors.add(
          [...p, 'type'],
          'APPLICATION_COMMAND_OPTION_TYPE_INVALID',
          'Sub-command groups can only contain sub-commands',
        );
      }
      size += validateOptions(errors, [...p, 'options'], opt.options, type === 2 ? 'group' : 'sub');
      return;
    }
    if (level === 'group') {
      errors.add(
        [...p, 'type'],
        'APPLICATION_COMMAND_OPTION_TYPE_INVALID',
        'Sub-command groups can only contain sub-commands',
      );
    }
    if (opt.required === true) {
      if (seenOptional) {
        errors.add(
          [...p, 'required'],
          'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
          'Required options must be placed before non-required options',
        );
      }
    } else {
      seenOptional = true;
    }
    if (opt.choices !== undefined) {
      if (type !== 3 && type !== 4 && type !== 10) {
        errors.add(
          [...p, 'choices'],
          'APPLICATION_COMMAND_OPTION_CHOICES_NOT_ALLOWED',
          'Choices are not allowed for this option type',
        );
      }
      if (opt.autocomplete === true) {
        errors.add(
          [...p, 'autocomplete'],
          'APPLICATION_COMMAND_AUTOCOMPLETE_INCOMPATIBLE_WITH_CHOICES',
          'Autocomplete cannot be enabled when choices are set',
        );
      }
      if (!Array.isArray(opt.choices)) errors.add([...p, 'choices'], 'BASE_TYPE_LIST', 'Must be a list.');
      else {
        if (opt.choices.length > 25) errors.add([...p, 'choices'], ...maxLength(25));
        opt.choices.forEach((choice: unknown, k: number) => {
          const cp: Path = [...p, 'choices', k];
          if (!isObject(choice)) return;
          if (typeof choice.name !== 'string' || choice.name.length === 0) errors.add([...cp, 'name'], ...REQUIRED);
          else if (len(choice.name) > 100) errors.add([...cp, 'name'], ...badLength(1, 100));
          else size += len(choice.name);
          if (type === 3) {
            if (typeof choice.value !== 'string')
              errors.add([...cp, 'value'], 'BASE_TYPE_STRING', 'Could not interpret value as string.');
            else {
              if (len(choice.value) > 100) errors.add([...cp, 'value'], ...maxLength(100));
              size += len(choice.value);
            }
          } else if (typeof choice.value !== 'number' || (type === 4 && !Number.isInteger(choice.value))) {
            errors.add(
              [...cp, 'value'],
              'NUMBER_TYPE_COERCE',
              `Value "${String(choice.value)}" is not ${type === 4 ? 'int' : 'a number'}.`,
            );
          }
        });
      }
    }
    if (opt.autocomplete === true && type !== 3 && type !== 4 && type !== 10) {
      errors.add(
        [...p, 'autocomplete'],
        'APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID',
        'Autocomplete is not allowed for this option type',
      );
    }
    for (const key of ['min_length', 'max_length'] as const) {
      const v = opt[key];
      if (v === undefined) continue;
      if (type !== 3)
        errors.add(
          [...p, key],
          'APPLICATION_COMMAND_OPTION_LENGTH_NOT_ALLOWED',
          'Length limits are only allowed for string options',
        );
      else if (typeof v !== 'number' || v < (key === 'min_length' ? 0 : 1) || v > 6000) {
        errors.add([...p, key], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 6000.');
      }
    }
  });
  if (subCount > 0 && subCount !== options.length) {
    errors.add(
      path,
      'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID',
      'Sub-command and sub-command group option types are mutually exclusive to all other types',
    );
  }
  return size;
}

export interface CommandIdAllocator {
  /** Returns a stable id for (scope, type, name): Discord keeps ids of commands that are overwritten by name. */
  idFor(scope: string, type: number, name: string): string;
}

export function validateAndNormalizeCommands(
  body: unknown,
  ctx: { applicationId: string; guildId: string | null; ids: CommandIdAllocator; version: () => string },
): APIApplicationCommand[] {
  if (!Array.isArray(body)) {
    throw invalidFormBody({ _errors: [{ code: 'BASE_TYPE_LIST', message: 'Must be a list.' }] });
  }
  const errors = new FormErrors();
  const seen = new Set<string>();
  const counts = new Map<number, number>();
  body.forEach((cmd: unknown, i: number) => {
    if (!isObject(cmd)) {
      errors.add([i], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
      return;
    }
    const type = cmd.type === undefined ? 1 : cmd.type;
    if (type !== 1 && type !== 2 && type !== 3 && type !== 4) {
      errors.add([i, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4}.');
      return;
    }
    counts.set(type, (counts.get(type) ?? 0) + 1);
    let size = 0;
    if (type === 1) {
      checkChatInputName(errors, [i, 'name'], cmd.name, 'Command');
      size += checkDescription(errors, [i, 'description'], cmd.description);
      size += validateOptions(errors, [i, 'options'], cmd.options, 'root');
    } else {
      if (typeof cmd.name !== 'string' || cmd.name.length === 0) errors.add([i, 'name'], ...REQUIRED);
      else if (len(cmd.name) > 32) errors.add([i, 'name'], ...badLength(1, 32));
      if (typeof cmd.description === 'string' && cmd.description.length > 0) {
        errors.add(
          [i, 'description'],
          'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION_INVALID',
          'Context menu commands cannot have a description',
        );
      }
      if (cmd.options !== undefined && (!Array.isArray(cmd.options) || cmd.options.length > 0)) {
        errors.add(
          [i, 'options'],
          'APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS_INVALID',
          'Context menu commands cannot have options',
        );
      }
    }
    if (typeof cmd.name === 'string') {
      size += len(cmd.name);
      const key = `${String(type)}:${cmd.name}`;
      if (seen.has(key))
        errors.add([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', 'Application command names must be unique');
      seen.add(key);
    }
    if (size > 8000) errors.add([i], 'APPLICATION_COMMAND_TOO_LARGE', 'Command exceeds maximum size (8000)');
    const dmp = cmd.default_member_permissions;
    if (dmp !== undefined && dmp !== null && (typeof dmp !== 'string' || !/^\d+$/.test(dmp))) {
      errors.add(
        [i, 'default_member_permissions'],
        'BASE_TYPE_STRING',
        'Could not interpret value as a permission bitfield.',
      );
    }
  });
  if ((counts.get(1) ?? 0) > 100)
    errors.add([], 'APPLICATION_COMMANDS_TOO_MANY_CHAT_INPUT', 'Maximum number of chat input commands reached (100)');
  if ((counts.get(2) ?? 0) > 15)
    errors.add([], 'APPLICATION_COMMANDS_TOO_MANY_USER', 'Maximum number of user commands reached (15)');
  if ((counts.get(3) ?? 0) > 15)
    errors.add([], 'APPLICATION_COMMANDS_TOO_MANY_MESSAGE', 'Maximum number of message commands reached (15)');
  errors.throwIfAny();

  const scope = ctx.guildId ?? 'global';
  return (body as Rec[]).map((cmd) => {
    const type = (cmd.type as number | undefined) ?? 1;
    const name = cmd.name as string;
    const out: Rec = {
      id: ctx.ids.idFor(scope, type, name),
      application_id: ctx.applicationId,
      version: ctx.version(),
      default_member_permissions: (cmd.default_member_permissions as string | null | undefined) ?? null,
      type,
      name,
      name_localizations: cmd.name_localizations ?? null,
      description: type === 1 ? (cmd.description as string) : '',
      description_localizations: cmd.description_localizations ?? null,
      nsfw: cmd.nsfw === true,
    };
    if (Array.isArray(cmd.options) && cmd.options.length > 0) out.options = structuredClone(cmd.options);
    if (ctx.guildId) out.guild_id = ctx.guildId;
    else {
      out.dm_permission = cmd.dm_permission ?? true;
      out.contexts = cmd.contexts ?? null;
      out.integration_types = cmd.integration_types ?? [0];
    }
    return out as unknown as APIApplicationCommand;
  });
}
