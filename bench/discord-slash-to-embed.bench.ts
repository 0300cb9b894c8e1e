/**
 * Issue 4: one `/delegate` at a time through the fake Discord, the agent answering 200 ms after
 * it is asked → the result embed posted in #dl-webster. Target: p50 ≤ 300 ms.
 */
import { withBotWorld } from './lib/bot-world.ts';
import { runScenario } from './lib/scenario.ts';
import { percentile } from './lib/stats.ts';

const AGENT_MS = 200;
const WARM_UP = 3;
const SAMPLES = 30;

await runScenario({
  id: 'discord slash→embed',
  issue: 4,
  title: `/delegate → embed in #dl-webster (agent answers after ${AGENT_MS} ms)`,
  method: `the real bot (discord.js + engine) against the fake Discord and a fake gateway, all in this process; time from dispatching INTERACTION_CREATE to the embed's MESSAGE create at the fake; the agent renames a valid handoff into place ${AGENT_MS} ms after its POST; ${SAMPLES} sequential runs after ${WARM_UP} warm-up, nearest-rank percentiles`,
  limitMs: 120_000,
  async run() {
    return withBotWorld(
      { script: { respond: 'admit', agent: { write: 'valid', afterMs: AGENT_MS } } },
      async (world) => {
        const { fake, channels, users } = world;
        const once = async (i: number): Promise<number> => {
          const posted = fake.nextMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: 10_000 });
          const started = performance.now();
          const handle = fake.sendSlashCommand({
            channelId: channels.general!,
            userId: users.alice,
            name: 'delegate',
            options: { agent: 'webster', task: `sequential ${i}` },
          });
          await posted;
          const elapsed = performance.now() - started;
          await handle.original((m) => m.content.includes('→'), 10_000);
          return elapsed;
        };
        for (let i = 0; i < WARM_UP; i += 1) await once(i);
        const samples: number[] = [];
        for (let i = 0; i < SAMPLES; i += 1) samples.push(await once(i));
        return [
          { metric: 'slash → embed p50', value: percentile(samples, 50), unit: 'ms', target: { max: 300 } },
          { metric: 'slash → embed p90', value: percentile(samples, 90), unit: 'ms' },
        ];
      },
    );
  },
});
