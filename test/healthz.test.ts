import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startProcessWorld } from './support/bot-process.ts';

interface Health {
  readonly ok: boolean;
  readonly checks: Record<string, { ok: boolean; detail?: string }>;
}

async function healthz(url: string): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${url}/healthz`);
  return { status: response.status, body: (await response.json()) as Health };
}

async function metric(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test(
  '/healthz is 200 while Discord and the store are fine, 503 saying why while Discord is down, 200 again after; /metrics counts both',
  { timeout: 90_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'valid' } } });
    const bot = await world.start();
    const { fake, channels, users } = world;
    const handle = fake.sendSlashCommand({
      channelId: channels.general!,
      userId: users.alice,
      name: 'delegate',
      options: { agent: 'webster', task: 'count me' },
    });
    const embed = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: 30_000 });
    await handle.original((m) => m.content.includes(embed.id), 30_000);
    assert.equal(
      await metric(bot.opsUrl, 'hq_delegate_engine_runs_total{status="complete"}'),
      1,
      'the journal is counted',
    );

    const up = await healthz(bot.opsUrl);
    assert.equal(up.status, 200);
    assert.equal(up.body.ok, true);
    assert.equal(up.body.checks.discord?.ok, true);
    assert.deepEqual(up.body.checks.store, { ok: true });

    world.fake.setDown(true);
    await bot.waitForLog((line) => line.msg === 'gateway connection lost; reconnecting');
    const down = await healthz(bot.opsUrl);
    assert.equal(down.status, 503);
    assert.equal(down.body.ok, false);
    assert.equal(down.body.checks.discord?.ok, false);
    assert.match(
      down.body.checks.discord?.detail ?? '',
      /Discord gateway shard 0: (Connecting|Reconnecting|Identifying|Resuming)/,
    );
    assert.deepEqual(down.body.checks.store, { ok: true }, 'and says the store is not what is wrong');

    const from = bot.lines.length;
    world.fake.setDown(false);
    // Resumed, or (if the session is gone) identified again.
    await bot.waitForLog(
      (line) => line.msg === 'gateway connection resumed' || line.msg === 'gateway connection ready',
      { from, timeoutMs: 60_000 },
    );
    const again = await healthz(bot.opsUrl);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const reconnects = (await metric(bot.opsUrl, 'hq_delegate_discord_errors_total{kind="gateway_reconnect"}')) ?? 0;
    assert.ok(reconnects >= 1, `the drop is counted (${reconnects})`);
    assert.equal((await bot.stop()).code, 0);
  },
);
