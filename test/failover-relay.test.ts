/**
 * HTTP handoffs with several replicas (issue 14): any replica takes an agent's PUT and stores it
 * in PostgreSQL, and whichever process leads hands it to the run, also when no process led at the
 * moment of the PUT. Each replica has its own listener port; the agent is told the standby's.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { handoffText } from './fakes/fake-gateway.ts';
import type { Scope } from './support/bot-world.ts';
import { freePort, pgSkipReason } from './support/pg-cluster.ts';
import {
  assertFinishedOnce,
  fileCluster,
  startPgProcessWorld,
  STANDING_BY,
  type PgProcessWorld,
} from './support/pg-process-world.ts';
import { delegate, deliveredEmbed, waitingRun } from './support/process-runs.ts';

const skip = pgSkipReason();
const cluster = fileCluster();

interface RelayWorld {
  readonly world: PgProcessWorld;
  /** The config of the replica agents PUT to. */
  readonly standbyConfig: string;
}

/** webster answers over HTTP; the leader's config and the standby's differ in their listener port. */
async function relayWorld(t: Scope, write: 'valid' | 'none'): Promise<RelayWorld> {
  const world = await startPgProcessWorld(t, await cluster(), {
    script: { respond: 'admit', agent: { write } },
  });
  const [leaderPort, standbyPort] = [await freePort(), await freePort()];
  const publicUrl = `http://127.0.0.1:${standbyPort}`;
  const file = world.configFile() as { agents: Record<string, Record<string, unknown>> };
  file.agents.webster!.handoff = 'http';
  const listener = (port: number) => ({ ...file, handoffListener: { port, publicUrl } });
  await world.writeConfig(JSON.stringify(listener(leaderPort), null, 2));
  const standbyConfig = path.join(world.dir, 'standby.config.json');
  await writeFile(standbyConfig, JSON.stringify(listener(standbyPort), null, 2));
  return { world, standbyConfig };
}

/** The run as webster's gateway got it: where and with which token to PUT. */
function agentRun(world: PgProcessWorld, runId: string) {
  const run = world.gateways.webster.runs.find((each) => each.runId === runId);
  assert.ok(run?.handoffUrl && run.handoffToken, 'the agent was told where to PUT');
  return run;
}

test(
  'a standby takes the agent PUT and the leader hands it to the run, once',
  { timeout: 120_000, skip },
  async (t) => {
    const { world, standbyConfig } = await relayWorld(t, 'valid');
    const leader = await world.startLeader();
    const standby = await world.start({ until: STANDING_BY, configPath: standbyConfig });
    const { handle, runId } = await delegate(world, 'answer over http');
    const embed = await deliveredEmbed(world, handle);
    const run = agentRun(world, runId);
    assert.equal(run.putStatus, 202, 'the standby accepted the PUT');
    assert.ok(
      standby.lines.some((line) => line.msg === 'handoff received over HTTP' && line.runId === runId),
      'the standby took it',
    );
    await assertFinishedOnce(world, runId, embed);
    const left = await world.cluster.query(
      'SELECT count(*)::int AS n FROM handoff_relay',
      new URL(world.url).pathname.slice(1),
    );
    assert.equal(left.rows[0].n, 0, 'the relayed row is gone once delivered');
    await Promise.all([leader.stop(), standby.stop()]);
  },
);

test(
  'a PUT taken while no process leads is handed to the run by the next leader; the token works once',
  { timeout: 120_000, skip },
  async (t) => {
    const { world, standbyConfig } = await relayWorld(t, 'none');
    const leader = await world.startLeader();
    const standby = await world.start({ until: STANDING_BY, configPath: standbyConfig });
    const { handle, runId } = await waitingRun(world, 'answer while nobody leads');
    const run = agentRun(world, runId);

    leader.kill('SIGKILL');
    await leader.exited;
    const put = (body: string) =>
      fetch(run.handoffUrl!, {
        method: 'PUT',
        headers: { authorization: `Bearer ${run.handoffToken}`, 'content-type': 'application/json' },
        body,
      });
    const text = handoffText('valid', runId, 'webster');
    const first = await put(text);
    assert.equal(first.status, 202, await first.text());
    assert.ok(!standby.lines.some((line) => line.msg === 'hq-delegate is running'), 'nobody led at the PUT');
    const again = await put(text);
    assert.equal(again.status, 409, 'the token is used up');
    await again.arrayBuffer();

    await assertFinishedOnce(world, runId, await deliveredEmbed(world, handle));
    await standby.stop();
  },
);
