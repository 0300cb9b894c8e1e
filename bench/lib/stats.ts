/** Small, exact statistics for the bench: nearest-rank percentiles over the raw samples. */

export function sorted(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0–100): the smallest sample with at least p% of samples at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const ordered = sorted(samples);
  const rank = Math.max(1, Math.ceil((p / 100) * ordered.length));
  return ordered[Math.min(rank, ordered.length) - 1] as number;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const ordered = sorted(samples);
  const mid = ordered.length >> 1;
  return ordered.length % 2 === 1
    ? (ordered[mid] as number)
    : ((ordered[mid - 1] as number) + (ordered[mid] as number)) / 2;
}

export function max(samples: readonly number[]): number {
  return samples.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
}
