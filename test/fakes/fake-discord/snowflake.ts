/** Discord-style snowflake ids: (ms since Discord epoch) << 22 | counter. Strictly increasing per generator. */

export const DISCORD_EPOCH_MS = 1420070400000n;

export class SnowflakeGenerator {
  #last = 0n;
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  next(): string {
    const ts = BigInt(Math.floor(this.#now())) - DISCORD_EPOCH_MS;
    let id = ts << 22n;
    if (id <= this.#last) id = this.#last + 1n;
    this.#last = id;
    return id.toString();
  }
}

export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS);
}

export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,20}$/.test(value);
}
