import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startProcessWorld } from './support/bot-process.ts';
import { privateAnswer } from './support/bot-world.ts';

const LONG = 30_000;
/** As long as /delegate takes: the run's row needs pages the full store cannot give. */
const BIG_TASK = 'summarise the quarter. '.repeat(170);

async function healthz(
  url: string,
): Promise<{ status: number; body: { checks: Record<string, { ok: boolean; detail?: string }> } }> {
  const response = await fetch(`${url}/healthz`);
  return { status: response.status, body: (await response.json()) as never };
}

test(
  'with the state directory full, /delegate is refused truthfully, nothing reaches the agent, and /healthz says 503 and why',
  { timeout: 90_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'valid' } } });
    const { fake, channels, users, gateways } = world;
    const bot = await world.start({ storeCap: true });
    assert.equal((await healthz(bot.opsUrl)).status, 200);
    const from = bot.lines.length;
    bot.kill('SIGUSR2');
    const capped = await bot.waitForLog((line) => line.msg === 'test: run store capped', { from });
    assert.ok(
      (capped.capped as { free: number }[]).every(({ free }) => free === 0),
      'no free page left for a run to use',
    );

    const delegate = () =>
      fake.sendSlashCommand({
        channelId: channels.general!,
        userId: users.alice,
        name: 'delegate',
        options: { agent: 'webster', task: BIG_TASK },
      });
    const first = delegate();
    const told = await privateAnswer(world, first.id, LONG);
    assert.match(told.content, /cannot record runs right now/);
    assert.doesNotMatch(told.content, /Something went wrong/);

    const health = await healthz(bot.opsUrl);
    assert.equal(health.status, 503);
    assert.equal(health.body.checks.store?.ok, false);
    assert.match(health.body.checks.store?.detail ?? '', /cannot be written.*full/);

    // Once known, a new request is refused before it is even deferred.
    const second = delegate();
    const ack = await second.acknowledged(LONG);
    assert.equal(ack.type, 4, 'answered at once, not deferred');
    assert.match((await privateAnswer(world, second.id, LONG)).content, /cannot record runs right now/);

    assert.equal(gateways.webster.hookRequests.length, 0, 'nothing was POSTed to the agent');
    await bot.stop();
  },
);
