/**
 * Issue 4: 50 `/delegate` interactions at once through the fake Discord → how long each waits
 * for its acknowledgement (the deferred reply). Discord allows 3 s; the target is p99 ≤ 250 ms.
 */
import type { InteractionHandle } from '../test/fakes/fake-discord/index.ts';
import { withBotWorld } from './lib/bot-world.ts';
import { runScenario } from './lib/scenario.ts';
import { median, percentile } from './lib/stats.ts';

const BURST = 50;
const ROUNDS = 5;

await runScenario({
  id: 'discord defer burst',
  issue: 4,
  title: `${BURST} /delegate at once → deferred`,
  method: `the real bot (discord.js + engine) against the fake Discord and 3 fake gateways, all in this process; ${BURST} INTERACTION_CREATE dispatched back to back, time from each dispatch to its type-5 callback arriving at the fake; agents answer after 200 ms; ${ROUNDS} rounds (each waits for every run to end) after one warm-up round, median of the rounds' nearest-rank p50/p99`,
  limitMs: 120_000,
  async run() {
    return withBotWorld(
      {
        engine: { maxConcurrentPerAgent: BURST },
        script: { respond: 'admit', agent: { write: 'valid', afterMs: 200 } },
      },
      async (world) => {
        const { fake, channels, users } = world;
        const round = async (): Promise<number[]> => {
          const handles: InteractionHandle[] = [];
          for (let i = 0; i < BURST; i += 1) {
            handles.push(
              fake.sendSlashCommand({
                channelId: channels.general!,
                userId: users.alice,
                name: 'delegate',
                options: { agent: 'webster', task: `burst ${i}` },
              }),
            );
          }
          const acks = await Promise.all(handles.map((handle) => handle.acknowledged(10_000)));
          await Promise.all(handles.map((handle) => handle.original((m) => m.content.includes('→'), 60_000)));
          return acks.map((ack) => ack.elapsedMs);
        };
        await round();
        const p50s: number[] = [];
        const p99s: number[] = [];
        for (let i = 0; i < ROUNDS; i += 1) {
          const samples = await round();
          p50s.push(percentile(samples, 50));
          p99s.push(percentile(samples, 99));
        }
        return [
          { metric: 'deferred p50', value: median(p50s), unit: 'ms' },
          { metric: 'deferred p99', value: median(p99s), unit: 'ms', target: { max: 250 } },
        ];
      },
    );
  },
});
