import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedPort } from './fakes/fake-gateway.ts';
import { cliWorld } from './support/cli-world.ts';

test(
  "the CLI listens for an http agent's PUT itself when handoffListener is configured",
  { timeout: 60_000 },
  async (t) => {
    const port = await closedPort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const world = await cliWorld(t, { agent: { handoff: 'http' }, handoffListener: { port, publicUrl } });
    const handoff = world.gateway.next('handoff');
    const run = await world.run(['webster', 'task', '--run-id', 'cli-http-1', '--no-deliver']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.status, 'complete');
    const [agentRun] = await handoff;
    assert.equal(agentRun.handoffUrl, `${publicUrl}/v1/handoffs/cli-http-1`);
    assert.equal(agentRun.putStatus, 202);
    assert.ok(!run.stderr.includes(agentRun.handoffToken ?? '?'), 'the token is not printed');
  },
);

test(
  'without handoffListener the CLI refuses an http agent clearly, sending nothing',
  { timeout: 60_000 },
  async (t) => {
    const world = await cliWorld(t, { agent: { handoff: 'http' } });
    const run = await world.run(['webster', 'task', '--run-id', 'cli-http-2']);
    assert.equal(run.code, 1);
    assert.equal(run.json.code, 'HQ_ERR_CONFIG_INVALID');
    assert.match(String(run.json.notes), /handoffListener/);
    assert.equal(world.gateway.hookRequests.length, 0);
  },
);
