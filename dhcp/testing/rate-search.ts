// The highest rate a DHCP server sustains, as bench:dhcp measures it for DHCPv4 and DHCPv6:
// trials at doubling rates from `start` while they pass; if even the first fails, the lower
// `fallback` rates in turn; then a few bisection steps between the best passing rate and the
// first failing one, stopping once they are within an eighth of the best.

/** What the search needs of a trial: the rate it offered. */
export interface RateTrial {
  target: number;
}

export interface RateSearch<T extends RateTrial> {
  start: number;
  maxRate: number;
  /** Tried in order, highest first, when the start rate already fails. */
  fallback: number[];
  bisectSteps: number;
  /** Runs one trial at `rate` (the caller records and logs it). */
  run(rate: number): Promise<T>;
  passes(t: T): boolean;
}

/** A trial's common figures: the rate offered, the rate achieved, the share of exchanges lost. */
export interface RateFigures extends RateTrial {
  rate: number;
  dropRatio: number;
}

/** One server's search: the best passing trial (null: none passed) and every trial run. */
export interface ServerRates<T extends RateFigures> {
  server: string;
  durability: string;
  best: T | null;
  trials: T[];
}

/**
 * A perfdhcp trial's common figures: replies per second of sending (counted from the last
 * exchange's replies: perfdhcp's own rate also counts its exit wait) and the drop ratio.
 */
export function rateFigures(target: number, seconds: number, last: { received: number }, dropRatio: number): RateFigures {
  return { target, rate: last.received / seconds, dropRatio };
}

/** bench:dhcp's pass mark: under 1 % drops, and at least 90 % of the offered rate achieved. */
export const sustained = (t: RateFigures): boolean => t.dropRatio < 0.01 && t.rate >= 0.9 * t.target;

/** The best passing trial, or null when no rate passed. */
export async function searchRate<T extends RateTrial>(o: RateSearch<T>): Promise<T | null> {
  let best: T | null = null;
  let bad: number | null = null;
  for (let rate = o.start; rate <= o.maxRate; rate *= 2) {
    const t = await o.run(rate);
    if (!o.passes(t)) {
      bad = rate;
      break;
    }
    best = t;
  }
  if (!best) {
    for (const rate of o.fallback) {
      const t = await o.run(rate);
      if (o.passes(t)) {
        best = t;
        break;
      }
      bad = rate;
    }
  }
  for (let step = 0; step < o.bisectSteps && best && bad !== null && bad - best.target > best.target / 8; step++) {
    const mid = Math.round((best.target + bad) / 2);
    const t = await o.run(mid);
    if (o.passes(t)) best = t;
    else bad = mid;
  }
  return best;
}
