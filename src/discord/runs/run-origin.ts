/**
 * Where a run came from, journaled with it so a restarted process can still answer: who asked,
 * where, and through what. `parseOrigin` is the one place the stored JSON is trusted again.
 */
import * as z from 'zod';

export const OriginKind = {
  slash: 'slash',
  button: 'button',
  mention: 'mention',
} as const;
export type OriginKind = (typeof OriginKind)[keyof typeof OriginKind];

const snowflake = z.string().regex(/^\d{1,20}$/);

const originSchema = z.object({
  kind: z.enum([OriginKind.slash, OriginKind.button, OriginKind.mention]),
  guildId: snowflake,
  channelId: snowflake,
  requesterId: snowflake,
  /** Shown on the result embed ("Requested by"): a member's username or the calling agent. */
  requesterLabel: z.string().max(100).default(''),
  depth: z.int().min(1).default(1),
  /** The run that started the delegation chain (delegation-chain.ts); absent, the run itself. */
  chainId: z.string().min(1).max(128).optional(),
  interactionId: snowflake.optional(),
  applicationId: snowflake.optional(),
  /** Lets a restarted process edit the original reply until `tokenExpiresAt` (epoch ms). */
  interactionToken: z.string().min(1).max(500).optional(),
  tokenExpiresAt: z.number().optional(),
  /** The agent's message, for an @mention. */
  messageId: snowflake.optional(),
  /** A follow-up's result thread (result-thread.ts), where its @mention was written. */
  threadId: snowflake.optional(),
});

export type RunOrigin = z.infer<typeof originSchema>;

/** Undefined for runs the CLI journaled. */
export function parseOrigin(value: unknown): RunOrigin | undefined {
  const parsed = originSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export function liveToken(origin: RunOrigin, now: number): string | undefined {
  if (origin.interactionToken === undefined || origin.tokenExpiresAt === undefined) return undefined;
  return now < origin.tokenExpiresAt ? origin.interactionToken : undefined;
}
