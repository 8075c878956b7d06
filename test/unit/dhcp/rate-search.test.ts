// dhcp/testing/rate-search.ts, the rate search bench:dhcp runs for DHCPv4 and DHCPv6: against a
// server model that passes every trial up to a capacity, the rates it offers and the best it
// reports, for the v4 settings (start 250, fallback 100/50/25, 3 bisection steps) and the v6 ones.
import { describe, expect, it } from 'vitest';
import { searchRate } from '../../../dhcp/testing/rate-search.js';

interface T { target: number; ok: boolean }

async function search(capacity: number, o: { start: number; fallback: number[]; bisectSteps: number; maxRate: number }) {
  const offered: number[] = [];
  const best = await searchRate<T>({
    ...o,
    run: async (rate) => { offered.push(rate); return { target: rate, ok: rate <= capacity }; },
    passes: (t) => t.ok,
  });
  return { best: best?.target ?? null, offered };
}

const V4 = { start: 250, fallback: [100, 50, 25], bisectSteps: 3, maxRate: 64_000 };
const V6 = { start: 500, fallback: [250, 100, 50], bisectSteps: 2, maxRate: 16_000 };

describe('searchRate', () => {
  it('doubles while trials pass, then bisects between the best and the first failure', async () => {
    expect(await search(3000, V4)).toEqual({ best: 3000, offered: [250, 500, 1000, 2000, 4000, 3000, 3500, 3250] });
    expect(await search(3000, V6)).toEqual({ best: 3000, offered: [500, 1000, 2000, 4000, 3000, 3500] });
  });

  it('stops doubling at maxRate, everything passing: no bisection', async () => {
    expect(await search(1e9, V6)).toEqual({ best: 16_000, offered: [500, 1000, 2000, 4000, 8000, 16_000] });
  });

  it('falls back to the lower rates when the first fails, and reports null when none passes', async () => {
    expect(await search(60, V4)).toEqual({ best: 57, offered: [250, 100, 50, 75, 63, 57] });
    expect(await search(10, V4)).toEqual({ best: null, offered: [250, 100, 50, 25] });
  });
});
