/**
 * Issue 13: a run held for approval, the Approve button pressed → the POST at the agent's
 * gateway. Target: p50 ≤ 300 ms.
 */
import { withBotWorld } from './lib/bot-world.ts';
import { runScenario } from './lib/scenario.ts';
import { percentile } from './lib/stats.ts';

const WARM_UP = 3;
const SAMPLES = 20;

await runScenario({
  id: 'approve→POST',
  issue: 13,
  title: 'Approve click on an approval card → POST sent at the fake gateway',
  method: `the real bot (discord.js + engine + store) against the fake Discord and a fake gateway, all in this process; webster needs approval by one user; per sample a /delegate is held and its card posted, then the time from dispatching the Approve INTERACTION_CREATE to the hook POST arriving at the gateway; ${SAMPLES} sequential presses after ${WARM_UP} warm-up, nearest-rank percentiles`,
  limitMs: 120_000,
  async run() {
    return withBotWorld(
      {
        channels: ['dl-webster', 'dl-tech-lead', 'approvals'],
        script: { respond: 'admit', agent: { write: 'valid' } },
        discord: (users, channels) => ({
          approval: { agents: { webster: { approverUserIds: [users.dana], channel: channels.approvals } } },
        }),
      },
      async (world) => {
        const { fake, channels, users, gateways } = world;
        const once = async (i: number): Promise<number> => {
          const task = `approve me ${i}`;
          const card = fake.nextMessage(
            channels.approvals!,
            (m) => m.embeds[0]?.fields?.some((f) => f.value.includes(task)) === true,
            { timeoutMs: 10_000 },
          );
          const handle = fake.sendSlashCommand({
            channelId: channels.general!,
            userId: users.alice,
            name: 'delegate',
            options: { agent: 'webster', task },
          });
          const posted = await card;
          const approveId = posted.interactiveComponents
            .map((c) => String(c.custom_id))
            .find((id) => id.startsWith('approve:'))!;
          const request = gateways.webster.next('request');
          const started = performance.now();
          fake.clickButton({ messageId: posted.id, customId: approveId, userId: users.dana });
          await request;
          const elapsed = performance.now() - started;
          await handle.original((m) => m.content.includes('→'), 10_000);
          return elapsed;
        };
        for (let i = 0; i < WARM_UP; i += 1) await once(i);
        const samples: number[] = [];
        for (let i = 0; i < SAMPLES; i += 1) samples.push(await once(WARM_UP + i));
        return [
          { metric: 'Approve → POST p50', value: percentile(samples, 50), unit: 'ms', target: { max: 300 } },
          { metric: 'Approve → POST p99', value: percentile(samples, 99), unit: 'ms' },
        ];
      },
    );
  },
});
