/**
 * Small pure helpers shared by the benchmarks (unit-tested in test/unit/bench-stats.test.ts).
 */

/**
 * Nearest-rank percentile (p in [0, 100]) of unsorted samples: the smallest sample such that at least
 * p % of the samples are ≤ it. No interpolation, so a reported p99 is a latency that was really seen.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new RangeError('p must be within 0..100');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Median; for an even count the mean of the two middle samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Most events in any window [t, t + windowMs) of the (unsorted) timestamps. */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/**
 * Events per second over the span they occupy: (n − 1) intervals between the first and the last event.
 * Counting n events over that span would overstate the rate by one event.
 */
export function rateOverSpan(times: readonly number[]): number {
  if (times.length < 2) return 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const spanS = (max - min) / 1000;
  return spanS > 0 ? (times.length - 1) / spanS : 0;
}

/** Deterministic PRNG (mulberry32): fault injection and sampling must be repeatable from a printed seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A plain-text table (the console output); columns padded to their widest cell. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A Markdown table; pipes inside cells are escaped. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (c: string) => c.replaceAll('|', '\\|');
  const line = (cells: readonly string[]) => `| ${cells.map(esc).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Times named stages of a run: announces each start, records its seconds (one decimal) by name. */
export function stageTimer(progress: (line: string) => void): {
  readonly seconds: Record<string, number>;
  timed<T>(name: string, fn: () => Promise<T>): Promise<T>;
} {
  const seconds: Record<string, number> = {};
  return {
    seconds,
    async timed(name, fn) {
      const t0 = Date.now();
      progress(`${name}: starting`);
      try {
        return await fn();
      } finally {
        seconds[name] = round((Date.now() - t0) / 1000, 1);
      }
    },
  };
}
