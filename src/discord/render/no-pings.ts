/**
 * The one allowed_mentions value every message the bot sends carries. Without it a regular bot
 * message parses users, roles and @everyone (NOTES.md §3), and agent output or a user's task text
 * could ping a whole server. Mentions still render as names; they just notify nobody.
 * `repliedUser: false` covers replies too, and is ignored for every other message.
 */
import type { MessageMentionOptions } from 'discord.js';

/** For discord.js (`allowedMentions: NO_PINGS`). */
export const NO_PINGS = Object.freeze({
  parse: Object.freeze([]) as readonly [],
  repliedUser: false,
} as const) satisfies MessageMentionOptions;

/** The same rule as raw API JSON, for requests made with `REST` directly (`allowed_mentions: NO_PINGS_API`). */
export const NO_PINGS_API = Object.freeze({
  parse: Object.freeze([]) as readonly [],
  replied_user: false,
} as const);
