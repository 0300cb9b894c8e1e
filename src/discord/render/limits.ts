/**
 * Every Discord limit the bot must respect, named once (discord-api-docs; NOTES.md §3), and the
 * one truncation function every rendered string goes through.
 *
 * Lengths are counted in UTF-16 code units (JavaScript's `.length`). Discord counts characters
 * (code points), which is never more than the UTF-16 count, so a string that fits here fits there.
 */

/** Message `content`. */
export const MAX_MESSAGE_CONTENT = 2_000;
export const MAX_EMBED_TITLE = 256;
export const MAX_EMBED_DESCRIPTION = 4_096;
export const MAX_EMBED_FIELDS = 25;
export const MAX_EMBED_FIELD_NAME = 256;
export const MAX_EMBED_FIELD_VALUE = 1_024;
export const MAX_EMBED_FOOTER = 2_048;
export const MAX_EMBED_AUTHOR = 256;
/** Title + description + field names and values + footer text + author name, of all embeds in one message, trimmed. */
export const MAX_EMBED_TOTAL = 6_000;
export const MAX_EMBEDS = 10;
/** Component and modal `custom_id`: 1–100 characters. */
export const MAX_CUSTOM_ID = 100;
export const MAX_AUTOCOMPLETE_CHOICES = 25;
export const MAX_CHOICE_NAME = 100;
export const MAX_CHOICE_VALUE = 100;
export const MAX_BUTTON_LABEL = 80;
export const MAX_BUTTONS_PER_ROW = 5;
export const MAX_ACTION_ROWS = 5;
/** `GET /channels/{id}/messages?limit=`: 1–100. */
export const MAX_MESSAGES_PER_FETCH = 100;
/** Default upload limit per file without server boosts; an interaction's `attachment_size_limit` is authoritative. */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1_024 * 1_024;

export const ELLIPSIS = '…';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Shortens `text` to at most `max` UTF-16 code units, ending with an ellipsis when it had to cut.
 * It cuts on a grapheme boundary (a flag or a family emoji stays whole) unless a single
 * grapheme is absurdly long (combining-mark floods), and then on a code point boundary: a
 * surrogate pair is never split. Lone surrogates become U+FFFD so the result is valid UTF-8.
 */
export function truncate(text: string, max: number): string {
  const limit = Math.floor(max);
  if (!(limit > 0)) return '';
  const safe = text.toWellFormed();
  if (safe.length <= limit) return safe;
  if (limit <= ELLIPSIS.length) return ELLIPSIS.slice(0, limit);
  let cut = limit - ELLIPSIS.length;
  // Graphemes only matter within a short window before the cut; segmenting that window keeps
  // a megabyte of input cheap. A window that starts mid-cluster can only misplace boundaries
  // near its start, which the fallback below covers.
  const windowStart = Math.max(0, cut - 64);
  const window = safe.slice(windowStart, Math.min(safe.length, cut + 64));
  const containing = graphemes.segment(window).containing(cut - windowStart);
  if (containing !== undefined) {
    const boundary = windowStart + containing.index;
    if (boundary > windowStart || windowStart === 0) cut = boundary;
  }
  if (cut > 0 && isHighSurrogate(safe.charCodeAt(cut - 1))) cut -= 1;
  // A cut that swallowed most of the text (one giant grapheme) falls back to the code point boundary.
  if (cut < (limit - ELLIPSIS.length) / 2) {
    cut = limit - ELLIPSIS.length;
    if (isHighSurrogate(safe.charCodeAt(cut - 1))) cut -= 1;
  }
  return safe.slice(0, cut).trimEnd() + ELLIPSIS;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd8_00 && code <= 0xdb_ff;
}

/** The parts of an embed Discord counts towards MAX_EMBED_TOTAL. */
export interface CountedEmbed {
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly fields?: readonly { readonly name: string; readonly value: string }[] | undefined;
  readonly footer?: { readonly text: string } | undefined;
  readonly author?: { readonly name: string } | undefined;
}

/** Discord's count for one embed: title, description, field names and values, footer text, author name, each trimmed. */
export function embedTextLength(embed: CountedEmbed): number {
  let total =
    counted(embed.title) + counted(embed.description) + counted(embed.footer?.text) + counted(embed.author?.name);
  for (const field of embed.fields ?? []) total += counted(field.name) + counted(field.value);
  return total;
}

/** The count for a whole message, which MAX_EMBED_TOTAL caps. */
export function embedsTextLength(embeds: readonly CountedEmbed[]): number {
  return embeds.reduce((sum, embed) => sum + embedTextLength(embed), 0);
}

function counted(text: string | undefined): number {
  return text === undefined ? 0 : text.trim().length;
}

/**
 * Every limit a message's embeds break, as readable strings (empty when it is valid). Tests and
 * the fake Discord use it; renderers are built so that it stays empty.
 */
export function embedLimitViolations(embeds: readonly CountedEmbed[]): string[] {
  const problems: string[] = [];
  if (embeds.length > MAX_EMBEDS) problems.push(`${embeds.length} embeds > ${MAX_EMBEDS}`);
  embeds.forEach((embed, i) => {
    const over = (what: string, text: string | undefined, max: number): void => {
      if (text !== undefined && text.length > max) problems.push(`embed ${i} ${what}: ${text.length} > ${max}`);
    };
    const empty = (what: string, text: string | undefined): void => {
      if (text !== undefined && text.trim().length === 0) problems.push(`embed ${i} ${what} is empty`);
    };
    over('title', embed.title, MAX_EMBED_TITLE);
    over('description', embed.description, MAX_EMBED_DESCRIPTION);
    over('footer.text', embed.footer?.text, MAX_EMBED_FOOTER);
    over('author.name', embed.author?.name, MAX_EMBED_AUTHOR);
    const fields = embed.fields ?? [];
    if (fields.length > MAX_EMBED_FIELDS) problems.push(`embed ${i} has ${fields.length} fields > ${MAX_EMBED_FIELDS}`);
    fields.forEach((field, j) => {
      over(`fields[${j}].name`, field.name, MAX_EMBED_FIELD_NAME);
      over(`fields[${j}].value`, field.value, MAX_EMBED_FIELD_VALUE);
      empty(`fields[${j}].name`, field.name);
      empty(`fields[${j}].value`, field.value);
    });
  });
  const total = embedsTextLength(embeds);
  if (total > MAX_EMBED_TOTAL) problems.push(`embeds total ${total} > ${MAX_EMBED_TOTAL}`);
  return problems;
}
