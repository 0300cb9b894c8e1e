/**
 * A finished run as the message posted to `dl-<agent>`: one embed with the known fields of the
 * RunResult, inside every Discord limit whatever the agent wrote. A result that does not fit goes
 * whole into a `result-<runId>.md` attachment and the embed shows a preview.
 */
import { ButtonStyle, ComponentType } from 'discord.js';
import type { APIActionRowComponent, APIButtonComponentWithCustomId, APIEmbed, APIEmbedField } from 'discord.js';
import type { RunResult, RunStatus } from '../../engine/types.ts';
import {
  DEFAULT_ATTACHMENT_MAX_BYTES,
  MAX_CUSTOM_ID,
  MAX_EMBED_DESCRIPTION,
  MAX_EMBED_FIELD_VALUE,
  MAX_EMBED_FOOTER,
  MAX_EMBED_TITLE,
  MAX_EMBED_TOTAL,
  MAX_EMBED_AUTHOR,
  embedTextLength,
  oneLine,
  truncate,
} from './limits.ts';
import { defangAgentText } from './agent-text.ts';

export interface StatusStyle {
  readonly word: string;
  readonly emoji: string;
  readonly color: number;
}

export const GREEN = 0x2e_cc_71;
export const YELLOW = 0xf1_c4_0f;
export const RED = 0xe7_4c_3c;
export const GREY = 0x95_a5_a6;
export const BLURPLE = 0x58_65_f2;

export const STATUS_STYLE = {
  complete: { word: 'Complete', emoji: '✅', color: GREEN },
  partial: { word: 'Partial', emoji: '🟡', color: YELLOW },
  blocked: { word: 'Blocked', emoji: '⛔', color: RED },
  failed: { word: 'Failed', emoji: '❌', color: RED },
  invalid: { word: 'Invalid handoff', emoji: '❌', color: RED },
  malformed: { word: 'Malformed handoff', emoji: '❌', color: RED },
  error: { word: 'Error', emoji: '❌', color: RED },
  timeout: { word: 'Timed out', emoji: '⌛', color: GREY },
  cancelled: { word: 'Cancelled', emoji: '🚫', color: GREY },
  sent: { word: 'Sent', emoji: '📨', color: BLURPLE },
} as const satisfies Record<RunStatus | 'sent', StatusStyle>;

const UNKNOWN_STATUS: StatusStyle = { word: 'Unknown status', emoji: '❔', color: GREY };

/** A status this build does not know renders grey. */
export function describeStatus(status: string): StatusStyle {
  return Object.hasOwn(STATUS_STYLE, status) ? STATUS_STYLE[status as keyof typeof STATUS_STYLE] : UNKNOWN_STATUS;
}

/** Statuses a person may usefully retry: the agent or the transport failed, not the agent's judgement. */
export const RETRYABLE_STATUSES: ReadonlySet<string> = new Set(['failed', 'timeout', 'error', 'invalid', 'malformed']);

export const RETRY_CUSTOM_ID_PREFIX = 'retry:';

/** Undefined when the run id is too long for a custom_id: the button is then left out. */
export function retryCustomId(runId: string): string | undefined {
  const id = RETRY_CUSTOM_ID_PREFIX + runId;
  return runId.length > 0 && id.length <= MAX_CUSTOM_ID ? id : undefined;
}

/** "850 ms", "4.2 s", "12 s", "4 min 05 s", "1 h 02 min". `wholeSeconds` drops the sub-second forms. */
export function formatDuration(ms: number, options: { wholeSeconds?: boolean } = {}): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  if (options.wholeSeconds !== true && ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1_000;
  if (options.wholeSeconds !== true && seconds < 10) return `${(Math.floor(seconds * 10) / 10).toString()} s`;
  const whole = Math.floor(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

export interface ResultMeta {
  /** Rendered as `<@id>`, which pings nobody: every send uses NO_PINGS. */
  readonly requesterId?: string;
  /** Who asked when there is no Discord user (an agent bot's name, "CLI"), or a label beside the id. */
  readonly requesterLabel?: string;
  /** The interaction's `attachment_size_limit`; defaults to Discord's 10 MiB. */
  readonly attachmentMaxBytes?: number;
}

/** discord.js `AttachmentPayload`-compatible. */
export interface ResultFile {
  readonly name: string;
  readonly attachment: Buffer;
  readonly description?: string;
}

export interface RenderedResult {
  readonly embeds: APIEmbed[];
  readonly files: ResultFile[];
  readonly components: APIActionRowComponent<APIButtonComponentWithCustomId>[];
}

/** Room kept under MAX_EMBED_TOTAL so a rounding slip elsewhere can never make Discord answer 400. */
const TOTAL_MARGIN = 32;
const SUMMARY_MAX = 1_000;
const SNOWFLAKE = /^\d{15,21}$/;

export function renderResultMessage(result: RunResult, meta: ResultMeta = {}): RenderedResult {
  const style = describeStatus(String(result.status));
  const agent = oneLine(String(result.agent ?? 'unknown agent'));
  const runId = oneLine(String(result.runId ?? ''));
  const deliverable = readDeliverable(result.deliverable);
  const success = result.status === 'complete' || result.status === 'partial';

  const title = truncate(`${style.emoji} ${deliverable.title ?? `${style.word}: ${agent}`}`, MAX_EMBED_TITLE);
  const fields: APIEmbedField[] = [];
  const field = (name: string, value: string, inline = true): void => {
    const text = truncate(value, MAX_EMBED_FIELD_VALUE);
    if (text.trim().length > 0) fields.push({ name, value: text, inline });
  };
  field('Status', `${style.emoji} ${style.word}`);
  if (typeof result.confidence === 'string')
    field('Confidence', truncate(defangAgentText(oneLine(result.confidence)), 32));
  field('Attempts', String(toCount(result.attempts)));
  field('Latency', formatDuration(Number(result.latencyMs)));
  const requester = renderRequester(meta);
  if (requester !== undefined) field('Requested by', requester);
  if (deliverable.type !== undefined) {
    const where = deliverable.path === undefined ? '' : `\n\`${truncate(deliverable.path.replaceAll('`', 'ˋ'), 256)}\``;
    field('Deliverable', `${truncate(deliverable.type, 32)}${where}`);
  }
  if (typeof result.workflowRunId === 'string' || typeof result.stepId === 'string') {
    field(
      'Workflow',
      truncate(
        defangAgentText(
          oneLine([result.workflowRunId, result.stepId].filter((x) => typeof x === 'string').join(' / ')),
        ),
        260,
      ),
    );
  }
  if (!success && typeof result.code === 'string')
    field('Error code', `\`${truncate(oneLine(result.code).replaceAll('`', ''), 64)}\``);
  if (typeof result.notes === 'string' && result.notes.trim().length > 0) {
    field(success ? 'Notes' : 'What went wrong', defangAgentText(result.notes), false);
  }

  const footerText = truncate(`run ${runId}`, Math.min(MAX_EMBED_FOOTER, 160));
  const base: APIEmbed = {
    author: { name: truncate(`from ${agent}`, Math.min(MAX_EMBED_AUTHOR, 80)) },
    title,
    color: style.color,
    fields,
    footer: { text: footerText },
  };
  const timestamp = readTimestamp(result.timestamp);
  if (timestamp !== undefined) base.timestamp = timestamp;

  const budget = Math.min(MAX_EMBED_DESCRIPTION, MAX_EMBED_TOTAL - embedTextLength(base) - TOTAL_MARGIN);
  const body = readResult(result.result);
  const fileName = `result-${fileSafe(runId)}.md`;
  const summary =
    deliverable.summary !== undefined && deliverable.summary.trim() !== body.text.trim()
      ? `**Summary:** ${truncate(deliverable.summary, SUMMARY_MAX)}\n\n`
      : '';

  // The attachment keeps the agent's bytes; what Discord renders as markdown is defanged.
  const shown = body.json ? body.text : defangAgentText(body.text);
  const inline = summary + displayResult(shown, body.json);
  const files: ResultFile[] = [];
  let description: string;
  if (inline.length <= budget) {
    description = inline;
  } else {
    const bytes = Buffer.from(body.text, 'utf8');
    const maxBytes = Math.max(1, Math.floor(meta.attachmentMaxBytes ?? DEFAULT_ATTACHMENT_MAX_BYTES));
    const attachment = bytes.length <= maxBytes ? bytes : cutUtf8(bytes, maxBytes);
    const cutNote =
      attachment.length < bytes.length ? ` (cut to the first ${attachment.length} bytes: the upload limit)` : '';
    files.push({ name: fileName, attachment, description: truncate(`Full result of run ${runId}`, 1_024) });
    const note = `\n\n📎 Preview only: the full result (${body.text.length} characters) is attached as \`${fileName}\`${cutNote}.`;
    description = summary + previewResult(shown, body.json, budget - summary.length - note.length) + note;
  }
  const embed: APIEmbed = { ...base };
  if (description.trim().length > 0) embed.description = truncate(description, budget);

  const components: RenderedResult['components'] = [];
  const retryId = RETRYABLE_STATUSES.has(String(result.status)) ? retryCustomId(runId) : undefined;
  if (retryId !== undefined) {
    components.push({
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.Button,
          style: ButtonStyle.Primary,
          label: 'Retry',
          emoji: { name: '🔁' },
          custom_id: retryId,
        },
      ],
    });
  }
  return { embeds: [embed], files, components };
}

interface Deliverable {
  readonly title?: string | undefined;
  readonly summary?: string | undefined;
  readonly type?: string | undefined;
  readonly path?: string | undefined;
}

function readDeliverable(value: unknown): Deliverable {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const record = value as Record<string, unknown>;
  const text = (key: string, line = true): string | undefined => {
    const v = record[key];
    if (typeof v !== 'string' || v.trim().length === 0) return undefined;
    return defangAgentText(line ? oneLine(v) : v);
  };
  return { title: text('title'), summary: text('summary', false), type: text('type'), path: text('path') };
}

function readResult(value: unknown): { text: string; json: boolean } {
  if (typeof value === 'string') return { text: value, json: false };
  if (value === undefined || value === null) return { text: '', json: false };
  if (typeof value === 'object') {
    try {
      const text = JSON.stringify(value, null, 2);
      if (typeof text === 'string') return { text, json: true };
    } catch {
      // A cycle or a BigInt (hand-built results only) falls through to String().
    }
  }
  return { text: String(value), json: false };
}

function displayResult(text: string, json: boolean): string {
  if (text.trim().length === 0) return '*(no result)*';
  return json ? fence(text) : text;
}

/** A preview of at most `max` characters, with any code fence it opened closed again. */
function previewResult(text: string, json: boolean, max: number): string {
  if (json) return fence(truncate(text, max - 12));
  const preview = truncate(text, max - 4);
  return (preview.match(/```/g)?.length ?? 0) % 2 === 1 ? `${preview}\n\`\`\`` : preview;
}

function fence(json: string): string {
  return `\`\`\`json\n${breakFences(json)}\n\`\`\``;
}

/** A ``` inside the JSON would close our fence: zero-width spaces between the backticks keep them visible. */
function breakFences(text: string): string {
  return text.replace(/`{3,}/g, (run) => run.split('').join('\u200b'));
}

function renderRequester(meta: ResultMeta): string | undefined {
  const label = meta.requesterLabel === undefined ? undefined : truncate(oneLine(meta.requesterLabel), 100);
  const id = meta.requesterId !== undefined && SNOWFLAKE.test(meta.requesterId) ? meta.requesterId : undefined;
  if (id !== undefined) return label === undefined || label.length === 0 ? `<@${id}>` : `<@${id}> (${label})`;
  return label !== undefined && label.length > 0 ? label : undefined;
}

function readTimestamp(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value);
  return Number.isFinite(time) ? new Date(time).toISOString() : undefined;
}

function toCount(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

function fileSafe(runId: string): string {
  const safe = runId
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 128);
  return safe.length > 0 ? safe : 'run';
}

/** The longest prefix of `bytes` no longer than `max` that does not end inside a UTF-8 sequence. */
function cutUtf8(bytes: Buffer, max: number): Buffer {
  let end = Math.min(max, bytes.length);
  if (end < bytes.length) {
    while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  }
  return bytes.subarray(0, end);
}
