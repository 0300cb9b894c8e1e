/**
 * The Discord scenarios' world: the test suite's bot world (the real bot against the fake
 * Discord and fake gateways, in this process), torn down when the scenario's body ends.
 */
import { startWorld, type World, type WorldOptions } from '../../test/support/bot-world.ts';
import { withScope } from './scope.ts';

export function withBotWorld<T>(options: WorldOptions, body: (world: World) => Promise<T>): Promise<T> {
  return withScope(async (scope) => body(await startWorld(scope, { logLevel: 'warn', ...options })));
}
