/**
 * A test Scope (test/support/bot-world.ts) for a scenario: the worlds made for the tests register
 * their teardown on it, and it runs when the body ends, last registered first.
 */
import type { Scope } from '../../test/support/bot-world.ts';

export async function withScope<T>(body: (scope: Scope) => Promise<T>): Promise<T> {
  const teardown: (() => unknown)[] = [];
  try {
    return await body({ after: (fn) => void teardown.push(fn) });
  } finally {
    for (const step of teardown.reverse()) await step();
  }
}
