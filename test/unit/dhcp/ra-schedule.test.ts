// When RAs go out (RFC 4861 6.2.4, 6.2.6), on a fake clock: the initial burst, the random
// unsolicited interval, answers to solicitations, the 3 s rate limit under a flood, changes.
import { describe, expect, it } from 'vitest';
import { resolveIntervals } from '../../../dhcp/ra/config.js';
import { RaSchedule } from '../../../dhcp/ra/schedule.js';

/** Runs the schedule as the advertiser does: send whenever due; returns the send times. */
function run(s: RaSchedule, until: number, events: { at: number; fn: (now: number) => void }[] = []): number[] {
  const sent: number[] = [];
  const pending = [...events].sort((a, b) => a.at - b.at);
  for (let now = 0; now <= until; now++) {
    while (pending.length > 0 && pending[0]!.at <= now) pending.shift()!.fn(now);
    if (now >= s.dueAt()) {
      s.sent(now);
      sent.push(now);
    }
  }
  return sent;
}

describe('RA schedule', () => {
  it('defaults are RFC 4861 6.2.1 and 10', () => {
    expect(resolveIntervals()).toEqual({
      maxIntervalMs: 600_000, minIntervalMs: 198_000, maxInitialIntervalMs: 16_000, initialCount: 3,
      minDelayBetweenRasMs: 3000, maxRaDelayMs: 500, finalCount: 3, linkLocalRetryMs: 1000, deviceCheckMs: 2000,
    });
    expect(resolveIntervals({ maxIntervalMs: 4000 }).minIntervalMs).toBe(3000);
  });

  it('sends at once, then the first three at most 16 s apart, then within [Min, Max]', () => {
    const s = new RaSchedule(resolveIntervals(), () => 0.999, 0);
    const sent = run(s, 2_000_000);
    expect(sent.slice(0, 3)).toEqual([0, 16_000, 32_000]);
    const gaps = sent.slice(3).map((t, i) => t - sent[i + 2]!);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(198_000);
      expect(g).toBeLessThanOrEqual(600_000);
    }
    // random = 0.999 puts every later interval near Max
    expect(gaps[0]).toBeGreaterThan(599_000);
  });

  it('answers an RS after 0 to 500 ms, but never within 3 s of the last multicast RA', () => {
    const s = new RaSchedule(resolveIntervals(), () => 0.5, 0);
    // first RA at 0; an RS at 10 s is answered at 10.25 s; an RS at 11 s waits for 13.25 + 0.25
    const sent = run(s, 20_000, [
      { at: 10_000, fn: (n) => s.solicited(n) },
      { at: 11_000, fn: (n) => s.solicited(n) },
    ]);
    expect(sent).toEqual([0, 10_250, 13_500]);
  });

  it('a flood of solicitations gets one RA per 3 s', () => {
    const s = new RaSchedule(resolveIntervals(), Math.random, 0);
    const flood = Array.from({ length: 3000 }, (_, i) => ({ at: 1000 + i * 10, fn: (n: number) => s.solicited(n) }));
    const sent = run(s, 31_000, flood);
    for (let i = 1; i < sent.length; i++) expect(sent[i]! - sent[i - 1]!).toBeGreaterThanOrEqual(3000);
    expect(sent.length).toBeGreaterThanOrEqual(9);
    expect(sent.length).toBeLessThanOrEqual(11);
  });

  it('a change sends at once within the rate limit and restarts the initial burst', () => {
    const iv = resolveIntervals();
    const s = new RaSchedule(iv, () => 0.999, 0);
    const sent = run(s, 400_000, [{ at: 100_000, fn: (n) => s.changed(n, iv) }, { at: 101_000, fn: (n) => s.changed(n, iv) }]);
    // 0, 16 s, 32 s, then the change at 100 s, the second change 1 s later waits until 103 s,
    // then the burst again: 16 s apart.
    expect(sent.slice(0, 6)).toEqual([0, 16_000, 32_000, 100_000, 103_000, 119_000]);
  });

  it('retries after a failed attempt without counting it as sent', () => {
    const s = new RaSchedule(resolveIntervals(), () => 0, 0);
    s.retryAfter(0, 1000);
    expect(s.dueAt()).toBe(1000);
    expect(s.lastSent).toBe(-Infinity);
  });
});
