/**
 * Interaction tokens are credentials for 15 minutes (issue 12, item 14): runs.sqlite drops each
 * once its run is delivered or it has expired, instead of keeping it for the retention period.
 * Checked by reading the sqlite file itself, as an operator or an attacker with the file would.
 */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { startWorld, type World } from './support/bot-world.ts';

/** Every text the store holds, table by table, for a search. */
function storeText(world: World): string {
  const db = new DatabaseSync(world.store!.file, { readOnly: true });
  try {
    const tables = ['runs', 'attempts', 'deliveries', 'progress_messages', 'channel_cursors'];
    return tables.map((table) => JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all())).join('\n');
  } finally {
    db.close();
  }
}

test('once a /delegate is delivered, its interaction token is nowhere in runs.sqlite', async (t) => {
  const world = await startWorld(t);
  const handle = world.fake.sendSlashCommand({
    channelId: world.channels.general!,
    userId: world.users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'quick one' },
  });
  const running = await handle.original((m) => /webster/.test(m.content), 10_000);
  assert.ok(running);
  const delivered = await world.waitForLog((entry) => entry.msg === 'result delivered');
  const runId = String(delivered.runId);
  const text = storeText(world);
  assert.ok(text.includes(runId), 'the run itself is kept');
  assert.ok(!text.includes(handle.record.token), 'the token is gone');
});

test('a token past its lifetime is dropped from runs.sqlite while the run still waits', async (t) => {
  const world = await startWorld(t, {
    discord: { interactionTokenTtlMs: 1_000 },
    script: { respond: 'admit', agent: { write: 'none' } },
  });
  const handle = world.fake.sendSlashCommand({
    channelId: world.channels.general!,
    userId: world.users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'take your time', timeout: 60 },
  });
  await world.gateways.webster.next('run');
  assert.ok(storeText(world).includes(handle.record.token), 'kept while it can still edit the reply');
  await world.waitForLog((entry) => entry.msg === 'forgot expired interaction tokens');
  assert.equal(world.bot.context.runs.size(), 1, 'the run is still going');
  assert.ok(!storeText(world).includes(handle.record.token), 'the expired token is gone');
});
