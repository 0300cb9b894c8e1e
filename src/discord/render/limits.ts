/**
 * Every Discord limit the bot respects, named once, and the one truncation function every
 * rendered string goes through. Lengths are UTF-16 units, never fewer than Discord's code points.
 */
export const MAX_MESSAGE_CONTENT = 2_000;
export const MAX_EMBED_TITLE = 256;
export const MAX_EMBED_DESCRIPTION = 4_096;
export const MAX_EMBED_FIELDS = 25;
export const MAX_EMBED_FIELD_NAME = 256;
export const MAX_EMBED_FIELD_VALUE = 1_024;
export const MAX_EMBED_FOOTER = 2_048;
export const MAX_EMBED_AUTHOR = 256;
export const MAX_EMBED_TOTAL = 6_000;
export const MAX_EMBEDS = 10;
export const MAX_CUSTOM_ID = 100;
export const MAX_AUTOCOMPLETE_CHOICES = 25;
export const MAX_CHOICE_NAME = 100;
export const MAX_MESSAGES_PER_FETCH = 100;
/** Default upload limit per file without server boosts; an interaction's `attachment_size_limit` is authoritative. */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1_024 * 1_024;

export const ELLIPSIS = '…';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Shortens `text` to at most `max` UTF-16 units, with an ellipsis when it cut: on a grapheme
 * boundary (a flag stays whole), else on a code point one. Lone surrogates become U+FFFD.
 */
export function truncate(text: string, max: number): string {
  const limit = Math.floor(max);
  if (!(limit > 0)) return '';
  const safe = text.toWellFormed();
  if (safe.length <= limit) return safe;
  if (limit <= ELLIPSIS.length) return ELLIPSIS.slice(0, limit);
  let cut = limit - ELLIPSIS.length;
  // Only a window around the cut is segmented; the fallback below covers a window starting mid-cluster.
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

/** Discord's count for one embed (what MAX_EMBED_TOTAL caps, summed over a message). */
export function embedTextLength(embed: CountedEmbed): number {
  let total =
    counted(embed.title) + counted(embed.description) + counted(embed.footer?.text) + counted(embed.author?.name);
  for (const field of embed.fields ?? []) total += counted(field.name) + counted(field.value);
  return total;
}

export function embedsTextLength(embeds: readonly CountedEmbed[]): number {
  return embeds.reduce((sum, embed) => sum + embedTextLength(embed), 0);
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function counted(text: string | undefined): number {
  return text === undefined ? 0 : text.trim().length;
}

/** Every limit a message's embeds break (empty when valid); tests and the fake Discord check it. */
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
