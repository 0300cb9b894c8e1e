/**
 * The allowed_mentions every message the bot sends carries: agent output or a task's text must
 * not ping a whole server. Mentions still render as names; they notify nobody.
 */
import type { MessageMentionOptions } from 'discord.js';

export const NO_PINGS = Object.freeze({
  parse: Object.freeze([]) as readonly [],
  repliedUser: false,
} as const) satisfies MessageMentionOptions;

/** The same rule as raw API JSON, for requests made with `REST` directly. */
export const NO_PINGS_API = Object.freeze({
  parse: Object.freeze([]) as readonly [],
  replied_user: false,
} as const);
