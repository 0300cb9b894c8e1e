/**
 * Issue 13: the agent's handoff written → the result embed in #dl-webster and the thread opened
 * on it, both at the fake Discord. Target: p50 ≤ 300 ms.
 */
import { withBotWorld } from './lib/bot-world.ts';
import { runScenario } from './lib/scenario.ts';
import { percentile } from './lib/stats.ts';

const WARM_UP = 3;
const SAMPLES = 30;
const WAIT_MS = 10_000;

await runScenario({
  id: 'thread + embed after handoff',
  issue: 13,
  title: 'handoff written → result embed and its thread at the fake Discord',
  method: `the real bot (discord.js + engine) against the fake Discord and a fake gateway, all in this process; one /delegate at a time, the agent renaming a valid handoff into place as soon as it is asked; time from the rename done (the fake gateway's handoff event) to the later of the embed's MESSAGE create in #dl-webster and the thread create on it; ${SAMPLES} sequential runs after ${WARM_UP} warm-up, nearest-rank percentiles`,
  limitMs: 120_000,
  async run() {
    return withBotWorld({ script: { respond: 'admit', agent: { write: 'valid' } } }, async (world) => {
      const { fake, channels, users, gateways } = world;
      const resultChannel = channels['dl-webster']!;
      const once = async (i: number): Promise<{ embed: number; both: number }> => {
        const written = new Promise<number>((resolve) =>
          gateways.webster.once('handoff', () => resolve(performance.now())),
        );
        const posted = fake
          .nextMessage(resultChannel, (m) => m.embeds.length > 0, { timeoutMs: WAIT_MS })
          .then((message) => ({ id: message.id, at: performance.now() }));
        const opened = fake
          .waitFor('thread_create', (thread) => 'parent_id' in thread && thread.parent_id === resultChannel, {
            timeoutMs: WAIT_MS,
          })
          .then((thread) => ({ id: thread.id, at: performance.now() }));
        const handle = fake.sendSlashCommand({
          channelId: channels.general!,
          userId: users.alice,
          name: 'delegate',
          options: { agent: 'webster', task: `thread ${i}` },
        });
        const [writtenAt, embed, thread] = await Promise.all([written, posted, opened]);
        if (thread.id !== embed.id) throw new Error(`thread ${thread.id} is not on the result embed ${embed.id}`);
        await handle.original((m) => m.content.includes(`<#${thread.id}>`), WAIT_MS);
        return { embed: embed.at - writtenAt, both: Math.max(embed.at, thread.at) - writtenAt };
      };
      for (let i = 0; i < WARM_UP; i += 1) await once(i);
      const both: number[] = [];
      const embeds: number[] = [];
      for (let i = 0; i < SAMPLES; i += 1) {
        const sample = await once(WARM_UP + i);
        both.push(sample.both);
        embeds.push(sample.embed);
      }
      return [
        { metric: 'handoff → thread + embed p50', value: percentile(both, 50), unit: 'ms', target: { max: 300 } },
        { metric: 'handoff → thread + embed p99', value: percentile(both, 99), unit: 'ms' },
        { metric: 'handoff → embed p50', value: percentile(embeds, 50), unit: 'ms' },
      ];
    });
  },
});
