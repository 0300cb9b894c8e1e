/**
 * An engine whose agents hand off over HTTP: a real run store, the real handoff listener on a
 * loopback port, and one fake gateway serving `webster` and `tech-lead` (both `handoff: "http"`).
 * `restart()` closes engine, listener and store and makes them anew on the same store file and
 * port, as a restarted process would.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { Config } from '../../src/config.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { createEventLog } from '../../src/engine/event-log.ts';
import type { Engine } from '../../src/engine/types.ts';
import { engineSettingsOf } from '../../src/engine-settings.ts';
import { startHandoffListener, type HandoffListener } from '../../src/handoffs/http-listener.ts';
import { createRunStore, type RunStore } from '../../src/store/run-store.ts';
import { captureLog, tempDir, testConfig, type CapturedLog, type EngineTuning } from '../fakes/engine-harness.ts';
import { closedPort, startFakeGateway, type FakeGateway, type FakeGatewayOptions } from '../fakes/fake-gateway.ts';
import { asAsyncStore } from '../../src/store/sqlite-async.ts';

export interface HttpWorld {
  readonly root: string;
  readonly config: Config;
  readonly gateway: FakeGateway;
  readonly captured: CapturedLog;
  readonly publicUrl: string;
  engine: Engine;
  store: RunStore;
  listener: HandoffListener;
  /** Engine, listener and store closed, then made anew on the same file and port. */
  restart(): Promise<void>;
  eventLines(): Promise<string[]>;
  /** `PUT <publicUrl>/v1/handoffs/<runId>`; the answer's status, headers and JSON. */
  put(runId: string, options: PutOptions): Promise<PutAnswer>;
}

export interface PutOptions {
  readonly token?: string | undefined;
  readonly body: string;
  readonly headers?: Record<string, string>;
  readonly method?: string;
  readonly path?: string;
}

export interface PutAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

export interface HttpWorldOptions {
  readonly gateway?: FakeGatewayOptions;
  readonly engine?: EngineTuning;
  readonly trustProxy?: boolean;
}

export async function httpWorld(t: TestContext, options: HttpWorldOptions = {}): Promise<HttpWorld> {
  const root = await tempDir(t, 'hq-http-handoff-');
  const gateway = await startFakeGateway(options.gateway);
  const port = await closedPort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const base = testConfig({
    root,
    agents: {
      webster: { port: gateway.port, agentId: 'webster', handoff: 'http' },
      'tech-lead': { port: gateway.port, agentId: 'tech-lead', handoff: 'http' },
    },
    engine: options.engine,
    sharedToken: gateway.token,
  });
  const config: Config = {
    ...base,
    handoffListener: { host: '127.0.0.1', port, publicUrl, trustProxy: options.trustProxy ?? false },
  };
  const captured = captureLog();
  const storeFile = path.join(root, 'state', 'runs.sqlite');

  async function open(): Promise<{ engine: Engine; store: RunStore; listener: HandoffListener }> {
    const store = createRunStore(storeFile);
    const engine = createEngine({
      settings: engineSettingsOf(config),
      log: captured.log,
      eventLog: createEventLog({ dir: config.paths.logDir }),
      journal: asAsyncStore(store),
      handoffTokens: asAsyncStore(store),
      sendRetryDelaysMs: [0, 0],
    });
    const listener = await startHandoffListener({
      ...config.handoffListener!,
      receiver: engine.handoffs,
      maxBytes: config.engine.maxHandoffBytes,
      log: captured.log,
    });
    return { engine, store, listener };
  }

  const world = { root, config, gateway, captured, publicUrl, ...(await open()) } as HttpWorld;
  const closeAll = async (): Promise<void> => {
    await world.engine.close();
    await world.listener.close();
    world.store.close();
  };
  t.after(async () => {
    await closeAll();
    await gateway.close();
  });
  world.restart = async () => {
    await closeAll();
    Object.assign(world, await open());
  };
  world.eventLines = async () => {
    const files = await readdir(config.paths.logDir).catch(() => [] as string[]);
    const texts = await Promise.all(files.map((file) => readFile(path.join(config.paths.logDir, file), 'utf8')));
    return texts.join('').split('\n').filter(Boolean);
  };
  world.put = async (runId, { token, body, headers = {}, method = 'PUT', path: at }) => {
    const response = await fetch(`${publicUrl}${at ?? `/v1/handoffs/${runId}`}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...headers,
      },
      ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : {} };
  };
  return world;
}
