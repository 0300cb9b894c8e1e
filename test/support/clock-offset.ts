/**
 * Preloaded into a bot process (`node --import`) by tests that need it to live later than the
 * test: `Date.now()` runs TEST_CLOCK_OFFSET_MS ahead. The fake Discord's ids only move forward,
 * so a message can be made old only by moving the bot's clock, not Discord's.
 */
const offset = Number(process.env.TEST_CLOCK_OFFSET_MS ?? '0');
if (Number.isFinite(offset) && offset !== 0) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + offset;
}
