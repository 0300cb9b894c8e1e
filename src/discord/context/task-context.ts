/**
 * The CONTEXT part of a /delegate: recent channel messages and an attached text file. The
 * requester may only pull in what they can read themselves: the bot often sees more.
 */
import { PermissionFlagsBits, type Attachment, type ChatInputCommandInteraction } from 'discord.js';
import type { Config } from '../../config.ts';
import { ErrorCode, HqError, UsageError } from '../../errors.ts';
import { fetchChannelContext, formatUntrustedContext, formatUntrustedFile } from './channel-context.ts';
import {
  botCannotReadHistory,
  cannotReadHistory,
  contextLeftOut,
  contextFileDownloadFailed,
  contextFileLargerThan,
  contextFileNotText,
  contextFileTooLarge,
} from '../render/strings.ts';

export const MAX_CONTEXT_MESSAGES = 30;

const READ = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.ReadMessageHistory;

export interface ContextRequest {
  readonly messages: number;
  readonly channelId?: string;
  readonly file?: Attachment;
  /** Refuse the task rather than send it without context the bot cannot read. */
  readonly required?: boolean;
}

export interface TaskContext {
  readonly text?: string;
  /** What the requester must be told: context they asked for that is not in the task. */
  readonly notices: readonly string[];
}

export async function buildTaskContext(
  interaction: ChatInputCommandInteraction<'cached' | 'raw'>,
  config: Config,
  wanted: ContextRequest,
): Promise<TaskContext> {
  const parts: string[] = [];
  const notices: string[] = [];
  if (wanted.messages > 0) {
    const channel = await channelContext(interaction, config, wanted);
    if (typeof channel === 'string') parts.push(channel);
    else if (wanted.required === true) throw new HqError(ErrorCode.CONTEXT_UNAVAILABLE, channel.why);
    else notices.push(contextLeftOut(channel.why));
  }
  if (wanted.file) parts.push(await fileContext(wanted.file, config.discord.contextFileMaxBytes));
  const text = parts.filter((part) => part.length > 0).join('\n\n');
  return text.length > 0 ? { text, notices } : { notices };
}

/**
 * Whether the bot may read the channel's history. Without Read Message History Discord answers
 * the message list with nothing at all rather than an error, so it is asked first.
 */
function botReadsHistory(interaction: ChatInputCommandInteraction<'cached' | 'raw'>, channelId: string): boolean {
  if (channelId === interaction.channelId && interaction.appPermissions) {
    return interaction.appPermissions.has(PermissionFlagsBits.ReadMessageHistory);
  }
  const guild = interaction.inCachedGuild() ? interaction.guild : undefined;
  const channel = guild?.channels.cache.get(channelId);
  const me = guild?.members.me;
  // Unknown here: the fetch below still says whether anything came back.
  if (!channel || !me) return true;
  return channel.permissionsFor(me).has(PermissionFlagsBits.ReadMessageHistory);
}

async function channelContext(
  interaction: ChatInputCommandInteraction<'cached' | 'raw'>,
  config: Config,
  wanted: ContextRequest,
): Promise<string | { readonly why: string }> {
  const channelId = wanted.channelId ?? interaction.channelId;
  const picked = wanted.channelId ? interaction.options.getChannel('context_channel') : null;
  const label =
    picked && 'name' in picked && picked.name
      ? `#${picked.name}`
      : interaction.channel && 'name' in interaction.channel
        ? `#${interaction.channel.name}`
        : `<#${channelId}>`;
  // Discord sends the member's own permissions in each channel it resolves, overwrites included.
  const permissions = wanted.channelId
    ? picked && 'permissions' in picked
      ? picked.permissions
      : null
    : interaction.memberPermissions;
  let bits = typeof permissions === 'string' ? BigInt(permissions) : permissions?.bitfield;
  if (bits === undefined && picked && 'permissionsFor' in picked && interaction.inCachedGuild()) {
    bits = picked.permissionsFor(interaction.member)?.bitfield;
  }
  if (bits === undefined || (bits & READ) !== READ) {
    throw new HqError(ErrorCode.ACCESS_DENIED, cannotReadHistory(label));
  }
  if (!botReadsHistory(interaction, channelId)) return { why: botCannotReadHistory(label) };
  const count = Math.min(MAX_CONTEXT_MESSAGES, wanted.messages);
  const messages = await fetchChannelContext(interaction.client.rest, channelId, count, label);
  return formatUntrustedContext(messages, { maxChars: config.discord.contextMaxChars, source: label });
}

/** Reads the attachment with the cap enforced on the bytes received, not on the size Discord claims. */
async function fileContext(file: Attachment, maxBytes: number): Promise<string> {
  const name = file.name.replace(/[\r\n`]/g, '_').slice(0, 100);
  if (file.size > maxBytes) {
    throw new UsageError(contextFileTooLarge(name, file.size, maxBytes));
  }
  let response: Response;
  try {
    response = await fetch(file.url, { signal: AbortSignal.timeout(FILE_FETCH_TIMEOUT_MS) });
  } catch (error) {
    throw new HqError(ErrorCode.CONTEXT_UNAVAILABLE, contextFileDownloadFailed(name, (error as Error).message), {
      cause: error,
    });
  }
  if (!response.ok || !response.body) {
    throw new HqError(ErrorCode.CONTEXT_UNAVAILABLE, contextFileDownloadFailed(name, `HTTP ${response.status}`));
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of response.body) {
    received += chunk.byteLength;
    if (received > maxBytes) {
      await response.body.cancel().catch(() => {});
      throw new UsageError(contextFileLargerThan(name, maxBytes));
    }
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  let text: string;
  try {
    if (bytes.includes(0)) throw new Error('binary');
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(contextFileNotText(name));
  }
  return formatUntrustedFile(name, text, bytes.length);
}

const FILE_FETCH_TIMEOUT_MS = 15_000;
