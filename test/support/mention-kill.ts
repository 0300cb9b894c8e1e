/**
 * The set-up the mention durability tests share: the real bot process with every dl- channel and
 * agents that answer at once, and a SIGKILL timed on a change of the bot's reactions.
 */
import type { ReactionEvent } from '../fakes/fake-discord/model.ts';
import type { Scope } from './bot-world.ts';
import {
  startProcessWorld,
  type BotProcess,
  type ExitInfo,
  type ProcessWorld,
  type ProcessWorldOptions,
} from './bot-process.ts';

/** A process world where every agent has its dl- channel and writes a valid handoff at once. */
export function startMentionWorld(t: Scope, options: ProcessWorldOptions = {}): Promise<ProcessWorld> {
  return startProcessWorld(t, {
    channels: ['dl-webster', 'dl-tech-lead', 'dl-secretary'],
    script: { respond: 'admit', agent: { write: 'valid' } },
    ...options,
  });
}

export interface ReactionChange extends ReactionEvent {
  /** True for a reaction put on, false for one taken off. */
  readonly added: boolean;
}

/**
 * SIGKILLs `bot` inside the fake's handler of the first reaction change `when` picks, so the bot
 * never hears Discord's answer to it, and resolves with the exit.
 */
export async function killAtReaction(
  world: Pick<ProcessWorld, 'fake'>,
  bot: BotProcess,
  when: (change: ReactionChange) => boolean,
): Promise<ExitInfo> {
  await new Promise<void>((resolve) => {
    const check = (event: ReactionEvent, added: boolean): void => {
      if (!when({ ...event, added })) return;
      bot.kill('SIGKILL');
      offAdd();
      offRemove();
      resolve();
    };
    const offAdd = world.fake.on('reaction_add', (event) => check(event, true));
    const offRemove = world.fake.on('reaction_remove', (event) => check(event, false));
  });
  return bot.exited;
}
