/**
 * POST /channels/{channel.id}/messages/{message.id}/threads: a public thread from a message, as
 * Discord does it. The thread's id is the message's id, so a second thread for one message is 160004.
 */
import type { FakeContext } from './context.ts';
import { badLength, DiscordHttpError, Errors, FormErrors, REQUIRED } from './errors.ts';
import { P } from './permissions.ts';
import type { Router } from './router.ts';
import type { ChannelState } from './state.ts';

const ARCHIVE_DURATIONS: ReadonlySet<number> = new Set([60, 1_440, 4_320, 10_080]);
/** Message flag HAS_THREAD. */
const HAS_THREAD = 1 << 5;

function validateThreadBody(body: unknown): { name: string; autoArchiveDuration: number } {
  const errors = new FormErrors();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    errors.add([], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
    errors.throwIfAny();
  }
  const { name, auto_archive_duration: duration } = body as Record<string, unknown>;
  if (name === undefined || name === null) errors.add(['name'], ...REQUIRED);
  else if (typeof name !== 'string') errors.add(['name'], 'STRING_TYPE_CONVERT', 'Could not interpret as string.');
  else if (name.trim().length < 1 || name.length > 100) errors.add(['name'], ...badLength(1, 100));
  if (duration !== undefined && (typeof duration !== 'number' || !ARCHIVE_DURATIONS.has(duration)))
    errors.add(['auto_archive_duration'], 'BASE_TYPE_CHOICES', 'Value must be one of {60, 1440, 4320, 10080}.');
  errors.throwIfAny();
  return { name: (name as string).trim(), autoArchiveDuration: (duration as number | undefined) ?? 4_320 };
}

export function registerThreadRoutes(router: Router, ctx: FakeContext): void {
  const { state, dispatcher } = ctx;
  router.add({
    method: 'POST',
    pattern: '/channels/:channel_id/messages/:message_id/threads',
    auth: true,
    major: ['channel_id'],
    handler: ({ req, params }) => {
      const parent = state.channels.get(params.channel_id!);
      if (!parent?.guildId) throw Errors.unknownChannel();
      const perms = state.permissionsIn(parent.id, state.botUserId);
      if (!(perms & P.ViewChannel)) throw Errors.missingAccess();
      if (parent.type !== 0 && parent.type !== 5)
        throw new DiscordHttpError(400, { code: 50024, message: 'Cannot execute action on this channel type' });
      if (!(perms & P.CreatePublicThreads)) throw Errors.missingPermissions();
      const message = state.messages.get(params.message_id!);
      if (!message || message.channelId !== parent.id || message.deleted || message.ephemeral)
        throw Errors.unknownMessage();
      const { name, autoArchiveDuration } = validateThreadBody(req.body);
      if (state.channels.has(message.id))
        throw new DiscordHttpError(400, {
          code: 160004,
          message: 'A thread has already been created for this message',
        });
      const thread: ChannelState = {
        id: message.id,
        type: parent.type === 5 ? 10 : 11,
        guildId: parent.guildId,
        name,
        position: 0,
        topic: null,
        nsfw: parent.nsfw,
        parentId: parent.id,
        permissionOverwrites: [],
        rateLimitPerUser: 0,
        lastMessageId: null,
        recipients: [],
        thread: { ownerId: state.botUserId, autoArchiveDuration, createdAt: ctx.now() },
      };
      state.channels.set(thread.id, thread);
      state.requireGuild(parent.guildId).channelIds.push(thread.id);
      const threadJSON = state.channelJSON(thread.id);
      message.data = {
        ...message.data,
        flags: (message.data.flags ?? 0) | HAS_THREAD,
        thread: threadJSON as never,
      };
      dispatcher.guildEvent('THREAD_CREATE', parent.guildId, { ...threadJSON, newly_created: true });
      ctx.events.emit('thread_create', threadJSON);
      return { status: 201, body: threadJSON };
    },
  });
}
