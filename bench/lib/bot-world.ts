/**
 * The Discord scenarios' world: the test suite's bot world (the real bot against the fake
 * Discord and fake gateways, in this process), torn down when the scenario's body ends.
 */
import { startWorld, type World, type WorldOptions } from '../../test/support/bot-world.ts';

export async function withBotWorld<T>(options: WorldOptions, body: (world: World) => Promise<T>): Promise<T> {
  const teardown: (() => unknown)[] = [];
  try {
    const world = await startWorld({ after: (fn) => void teardown.push(fn) }, { logLevel: 'warn', ...options });
    return await body(world);
  } finally {
    for (const step of teardown.reverse()) await step();
  }
}
