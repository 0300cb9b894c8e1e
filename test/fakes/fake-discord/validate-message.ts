/**
 * Validation of message create/edit bodies the way Discord does it (limits, nested 50035 error
 * paths, 50006 for empty messages).
 */
import { Errors, FormErrors, REQUIRED, badLength, maxLength } from './errors.ts';

export const MESSAGE_FLAGS = {
  SuppressEmbeds: 1 << 2,
  Ephemeral: 1 << 6,
  Loading: 1 << 7,
  SuppressNotifications: 1 << 12,
  IsVoiceMessage: 1 << 13,
  IsComponentsV2: 1 << 15,
} as const;

/** The loosely typed shape of a message body after JSON decoding. */
export interface MessageBody {
  content?: unknown;
  embeds?: unknown;
  components?: unknown;
  allowed_mentions?: unknown;
  attachments?: unknown;
  flags?: unknown;
  nonce?: unknown;
  enforce_nonce?: unknown;
  message_reference?: unknown;
  sticker_ids?: unknown;
  tts?: unknown;
  poll?: unknown;
  username?: unknown;
  avatar_url?: unknown;
  [key: string]: unknown;
}

export const len = (s: string): number => [...s].length;

type Path = (string | number)[];

function checkString(
  errors: FormErrors,
  path: Path,
  value: unknown,
  opts: { max: number; min?: number; required?: boolean },
): number {
  if (value === undefined || value === null) {
    if (opts.required) errors.add(path, ...REQUIRED);
    return 0;
  }
  if (typeof value !== 'string') {
    errors.add(path, 'BASE_TYPE_STRING', `Could not interpret "${JSON.stringify(value)}" as string.`);
    return 0;
  }
  const n = len(value);
  const min = opts.min ?? 0;
  if (min > 0 && n < min) {
    if (opts.required && n === 0) errors.add(path, ...REQUIRED);
    else errors.add(path, ...badLength(min, opts.max));
  } else if (n > opts.max) {
    errors.add(path, ...(min > 0 ? badLength(min, opts.max) : maxLength(opts.max)));
  }
  return n;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateEmbeds(errors: FormErrors, embeds: unknown): void {
  if (embeds === undefined || embeds === null) return;
  if (!Array.isArray(embeds)) {
    errors.add(['embeds'], 'BASE_TYPE_LIST', 'Must be a list.');
    return;
  }
  if (embeds.length > 10) errors.add(['embeds'], ...maxLength(10));
  let total = 0;
  embeds.forEach((embed, i) => {
    const p: Path = ['embeds', i];
    if (!isObject(embed)) {
      errors.add(p, 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
      return;
    }
    total += checkString(errors, [...p, 'title'], embed.title, { max: 256 });
    total += checkString(errors, [...p, 'description'], embed.description, { max: 4096 });
    checkString(errors, [...p, 'url'], embed.url, { max: 2048 });
    if (embed.color !== undefined && embed.color !== null) {
      if (typeof embed.color !== 'number' || !Number.isInteger(embed.color)) {
        errors.add([...p, 'color'], 'NUMBER_TYPE_COERCE', `Value "${String(embed.color)}" is not int.`);
      } else if (embed.color < 0 || embed.color > 0xffffff) {
        errors.add([...p, 'color'], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 16777215.');
      }
    }
    if (embed.timestamp !== undefined && embed.timestamp !== null) {
      if (typeof embed.timestamp !== 'string' || Number.isNaN(Date.parse(embed.timestamp))) {
        errors.add(
          [...p, 'timestamp'],
          'DATE_TIME_TYPE_PARSE',
          `Could not parse ${String(embed.timestamp)}. Should be ISO8601.`,
        );
      }
    }
    if (embed.footer !== undefined && embed.footer !== null) {
      if (!isObject(embed.footer))
        errors.add([...p, 'footer'], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
      else
        total += checkString(errors, [...p, 'footer', 'text'], embed.footer.text, {
          max: 2048,
          min: 1,
          required: true,
        });
    }
    if (embed.author !== undefined && embed.author !== null) {
      if (!isObject(embed.author))
        errors.add([...p, 'author'], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
      else
        total += checkString(errors, [...p, 'author', 'name'], embed.author.name, { max: 256, min: 1, required: true });
    }
    if (embed.fields !== undefined && embed.fields !== null) {
      if (!Array.isArray(embed.fields)) {
        errors.add([...p, 'fields'], 'BASE_TYPE_LIST', 'Must be a list.');
      } else {
        if (embed.fields.length > 25) errors.add([...p, 'fields'], ...maxLength(25));
        embed.fields.forEach((field: unknown, j: number) => {
          const fp: Path = [...p, 'fields', j];
          if (!isObject(field)) {
            errors.add(fp, 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
            return;
          }
          total += checkString(errors, [...fp, 'name'], field.name, { max: 256, min: 1, required: true });
          total += checkString(errors, [...fp, 'value'], field.value, { max: 1024, min: 1, required: true });
        });
      }
    }
  });
  if (total > 6000) errors.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
}

const BUTTON = 2;
const SELECT_TYPES = new Set([3, 5, 6, 7, 8]);
const V2_TOP_LEVEL = new Set([1, 9, 10, 12, 13, 14, 17]);

function validateButton(errors: FormErrors, p: Path, c: Record<string, unknown>): void {
  const style = c.style;
  if (typeof style !== 'number' || !Number.isInteger(style) || style < 1 || style > 6) {
    errors.add([...p, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6}.');
    return;
  }
  checkString(errors, [...p, 'label'], c.label, { max: 80 });
  if (style === 5) {
    if (c.custom_id !== undefined)
      errors.add(
        [...p, 'custom_id'],
        'BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED',
        'A custom id cannot be specified for link buttons',
      );
    checkString(errors, [...p, 'url'], c.url, { max: 512, min: 1, required: true });
    if (typeof c.url === 'string' && !/^(https?|discord):\/\//.test(c.url)) {
      errors.add([...p, 'url'], 'URL_TYPE_INVALID_URL', 'Not a well formed URL.');
    }
  } else if (style === 6) {
    if (c.sku_id === undefined) errors.add([...p, 'sku_id'], ...REQUIRED);
  } else {
    if (c.url !== undefined)
      errors.add([...p, 'url'], 'BUTTON_COMPONENT_URL_NOT_ALLOWED', 'A URL cannot be specified for non-link buttons');
    if (c.label === undefined && c.emoji === undefined) {
      errors.add([...p, 'label'], 'BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED', 'A label or emoji is required');
    }
  }
}

function validateSelect(errors: FormErrors, p: Path, c: Record<string, unknown>): void {
  checkString(errors, [...p, 'placeholder'], c.placeholder, { max: 150 });
  for (const key of ['min_values', 'max_values'] as const) {
    const v = c[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || v < (key === 'min_values' ? 0 : 1) || v > 25) {
      errors.add([...p, key], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 25.');
    }
  }
  if (c.type === 3) {
    if (!Array.isArray(c.options) || c.options.length < 1 || c.options.length > 25) {
      errors.add([...p, 'options'], ...badLength(1, 25));
    } else {
      c.options.forEach((o: unknown, k: number) => {
        if (!isObject(o)) return;
        checkString(errors, [...p, 'options', k, 'label'], o.label, { max: 100, min: 1, required: true });
        checkString(errors, [...p, 'options', k, 'value'], o.value, { max: 100, min: 1, required: true });
        checkString(errors, [...p, 'options', k, 'description'], o.description, { max: 100 });
      });
    }
  }
}

export function validateComponents(errors: FormErrors, components: unknown, flags: number): void {
  if (components === undefined || components === null) return;
  if (!Array.isArray(components)) {
    errors.add(['components'], 'BASE_TYPE_LIST', 'Must be a list.');
    return;
  }
  const v2 = (flags & MESSAGE_FLAGS.IsComponentsV2) !== 0;
  const customIds = new Set<string>();
  let total = 0;

  const checkCustomId = (p: Path, c: Record<string, unknown>, required: boolean): void => {
    checkString(errors, [...p, 'custom_id'], c.custom_id, { max: 100, min: 1, required });
    if (typeof c.custom_id === 'string') {
      if (customIds.has(c.custom_id)) {
        errors.add([...p, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
      }
      customIds.add(c.custom_id);
    }
  };

  const visit = (node: unknown, p: Path, depth: number): void => {
    if (!isObject(node)) {
      errors.add(p, 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
      return;
    }
    total++;
    const type = node.type;
    if (type === 1) {
      const children = node.components;
      if (!Array.isArray(children) || children.length < 1 || children.length > 5) {
        errors.add([...p, 'components'], ...badLength(1, 5));
        if (!Array.isArray(children)) return;
      }
      const hasSelect = children.some((c: unknown) => isObject(c) && SELECT_TYPES.has(c.type as number));
      if (hasSelect && children.length > 1) {
        errors.add(
          [...p, 'components'],
          'COMPONENT_LAYOUT_WIDTH_EXCEEDED',
          'The specified component exceeds the maximum width',
        );
      }
      children.forEach((c: unknown, i: number) => {
        const cp: Path = [...p, 'components', i];
        if (isObject(c) && c.type === 1) {
          errors.add([...cp, 'type'], 'COMPONENT_TYPE_INVALID', 'Action rows cannot contain other action rows');
          return;
        }
        visit(c, cp, depth + 1);
      });
      return;
    }
    if (type === BUTTON) {
      validateButton(errors, p, node);
      const style = node.style;
      if (style !== 5 && style !== 6) checkCustomId(p, node, true);
      return;
    }
    if (typeof type === 'number' && SELECT_TYPES.has(type)) {
      if (depth === 0)
        errors.add([...p, 'type'], 'COMPONENT_TYPE_INVALID', 'Component type is not valid at the top level');
      checkCustomId(p, node, true);
      validateSelect(errors, p, node);
      return;
    }
    if (!v2) {
      errors.add([...p, 'type'], 'UNION_TYPE_CHOICES', `Value of field "type" must be one of (1,).`);
      return;
    }
    // Components V2 layout/content components.
    if (node.custom_id !== undefined) checkCustomId(p, node, false);
    if (type === 10) checkString(errors, [...p, 'content'], node.content, { max: 4000, min: 1, required: true });
    for (const key of ['components', 'items'] as const) {
      const kids = node[key];
      if (Array.isArray(kids)) kids.forEach((k: unknown, i: number) => visit(k, [...p, key, i], depth + 1));
    }
    if (node.accessory !== undefined) visit(node.accessory, [...p, 'accessory'], depth + 1);
  };

  if (!v2) {
    if (components.length > 5) errors.add(['components'], ...maxLength(5));
    components.forEach((row: unknown, i: number) => {
      if (isObject(row) && row.type !== 1) {
        errors.add(['components', i, 'type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
        return;
      }
      visit(row, ['components', i], 0);
    });
  } else {
    components.forEach((c: unknown, i: number) => {
      if (isObject(c) && !V2_TOP_LEVEL.has(c.type as number)) {
        errors.add(['components', i, 'type'], 'COMPONENT_TYPE_INVALID', 'Component type is not valid at the top level');
        return;
      }
      visit(c, ['components', i], 0);
    });
    if (total > 40)
      errors.add(['components'], 'COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED', 'Total components exceeds maximum of 40');
  }
}

export function validateAllowedMentions(errors: FormErrors, am: unknown): void {
  if (am === undefined || am === null) return;
  if (!isObject(am)) {
    errors.add(['allowed_mentions'], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
    return;
  }
  const parse = am.parse;
  if (parse !== undefined) {
    if (!Array.isArray(parse)) errors.add(['allowed_mentions', 'parse'], 'BASE_TYPE_LIST', 'Must be a list.');
    else
      parse.forEach((v: unknown, i: number) => {
        if (v !== 'users' && v !== 'roles' && v !== 'everyone') {
          errors.add(
            ['allowed_mentions', 'parse', i],
            'ENUM_TYPE_COERCE',
            `Value "${String(v)}" is not a valid enum value.`,
          );
        }
      });
  }
  for (const key of ['users', 'roles'] as const) {
    const ids = am[key];
    if (ids === undefined) continue;
    if (!Array.isArray(ids)) {
      errors.add(['allowed_mentions', key], 'BASE_TYPE_LIST', 'Must be a list.');
      continue;
    }
    if (ids.length > 100) errors.add(['allowed_mentions', key], ...maxLength(100));
    if (Array.isArray(parse) && parse.includes(key) && ids.length > 0) {
      errors.add(
        ['allowed_mentions'],
        'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE',
        `parse:["${key}"] and ${key}: [ids] are mutually exclusive.`,
      );
    }
  }
}

export interface ValidateOptions {
  mode: 'create' | 'edit';
  /** Number of uploaded files in this request. */
  fileCount: number;
  /** Flags the resulting message will carry (for edits: existing flags merged with new ones). */
  effectiveFlags?: number;
  /** For edits: would the message still have content/embeds/attachments/components after applying? */
  resultIsEmpty?: () => boolean;
}

/** Throws a DiscordHttpError (50035 / 50006) if the body is invalid. */
export function validateMessageBody(body: MessageBody, opts: ValidateOptions): void {
  const errors = new FormErrors();
  const flags = typeof body.flags === 'number' ? body.flags : (opts.effectiveFlags ?? 0);
  if (
    body.flags !== undefined &&
    body.flags !== null &&
    (typeof body.flags !== 'number' || !Number.isInteger(body.flags))
  ) {
    errors.add(['flags'], 'NUMBER_TYPE_COERCE', `Value "${String(body.flags)}" is not int.`);
  }
  const v2 = ((opts.effectiveFlags ?? 0) | flags) & MESSAGE_FLAGS.IsComponentsV2;
  checkString(errors, ['content'], body.content, { max: 2000 });
  if (v2) {
    if (typeof body.content === 'string' && body.content.length > 0) {
      errors.add(
        ['content'],
        'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2',
        "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
      );
    }
    if (Array.isArray(body.embeds) && body.embeds.length > 0) {
      errors.add(
        ['embeds'],
        'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2',
        "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
      );
    }
  }
  validateEmbeds(errors, body.embeds);
  validateComponents(errors, body.components, (opts.effectiveFlags ?? 0) | flags);
  validateAllowedMentions(errors, body.allowed_mentions);
  if (body.nonce !== undefined && body.nonce !== null) {
    if (typeof body.nonce === 'string') checkString(errors, ['nonce'], body.nonce, { max: 25 });
    else if (typeof body.nonce !== 'number' || !Number.isInteger(body.nonce)) {
      errors.add(['nonce'], 'BASE_TYPE_STRING', 'Could not interpret nonce as string or int.');
    }
  }
  if (body.sticker_ids !== undefined && (!Array.isArray(body.sticker_ids) || body.sticker_ids.length > 3)) {
    errors.add(['sticker_ids'], ...maxLength(3));
  }
  if (opts.fileCount > 10) errors.add(['files'], ...maxLength(10));
  if (Array.isArray(body.attachments) && body.attachments.length > 10) errors.add(['attachments'], ...maxLength(10));
  if (body.message_reference !== undefined && body.message_reference !== null && !isObject(body.message_reference)) {
    errors.add(['message_reference'], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
  }
  errors.throwIfAny();

  if (opts.mode === 'create') {
    const hasContent = typeof body.content === 'string' && body.content.length > 0;
    const hasEmbeds = Array.isArray(body.embeds) && body.embeds.length > 0;
    const hasComponents = Array.isArray(body.components) && body.components.length > 0;
    const hasStickers = Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0;
    const hasFiles = opts.fileCount > 0;
    const hasPoll = isObject(body.poll);
    if (!hasContent && !hasEmbeds && !hasComponents && !hasStickers && !hasFiles && !hasPoll)
      throw Errors.emptyMessage();
  } else if (opts.resultIsEmpty?.()) {
    throw Errors.emptyMessage();
  }
}
