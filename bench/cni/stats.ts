// Latency summaries of one batch: nearest-rank percentiles (p99 of 100 is the 99th smallest).
export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
  /** First spawn -> last exit of the batch, ms. */
  wallMs: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function latency(values: readonly number[], wallMs: number): Latency {
  return { n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values), wallMs };
}
