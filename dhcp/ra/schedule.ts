// When the next multicast Router Advertisement goes out (pure; time in ms, random in [0, 1)).
// RFC 4861 6.2.4: unsolicited RAs at a random interval in [MinRtrAdvInterval,
// MaxRtrAdvInterval], the first MAX_INITIAL_RTR_ADVERTISEMENTS at most
// MAX_INITIAL_RTR_ADVERT_INTERVAL apart, the timer reset after every multicast RA; 6.2.6: an
// RS is answered after a random 0 to MAX_RA_DELAY_TIME, later if an RA went out in the last
// MIN_DELAY_BETWEEN_RAS, and RSs arriving meanwhile share that one answer. No two multicast RAs
// are ever closer than MIN_DELAY_BETWEEN_RAS: dueAt() includes that, whatever asked.
import type { RaIntervals } from './config.js';

export class RaSchedule {
  private lastSentAt = -Infinity;
  private initialLeft: number;
  private nextAt: number;

  constructor(
    private intervals: RaIntervals,
    private readonly random: () => number,
    now: number,
  ) {
    this.initialLeft = intervals.initialCount;
    // The first RA as soon as the interface advertises (RFC 4861 6.2.4 puts no delay on it).
    this.nextAt = now;
  }

  /** When the next multicast RA may and should be sent. */
  dueAt(): number {
    return Math.max(this.nextAt, this.lastSentAt + this.intervals.minDelayBetweenRasMs);
  }

  /** When the last multicast RA went out (-Infinity: none yet). */
  get lastSent(): number {
    return this.lastSentAt;
  }

  /** A multicast RA went out at `now`: reset the unsolicited timer. */
  sent(now: number): void {
    this.lastSentAt = now;
    if (this.initialLeft > 0) this.initialLeft--;
    const { minIntervalMs: min, maxIntervalMs: max, maxInitialIntervalMs } = this.intervals;
    let delay = min + this.random() * (max - min);
    if (this.initialLeft > 0) delay = Math.min(delay, maxInitialIntervalMs);
    this.nextAt = now + delay;
  }

  /** A valid RS arrived at `now`. */
  solicited(now: number): void {
    const delay = this.random() * this.intervals.maxRaDelayMs;
    const at = Math.max(now, this.lastSentAt + this.intervals.minDelayBetweenRasMs) + delay;
    // An RA already due sooner answers this RS too.
    this.nextAt = Math.min(this.nextAt, at);
  }

  /** The configuration changed: advertise at once (within the rate limit) and restart the initial burst. */
  changed(now: number, intervals: RaIntervals): void {
    this.intervals = intervals;
    this.initialLeft = intervals.initialCount;
    this.nextAt = Math.min(this.nextAt, now);
  }

  /** Nothing could be sent at `now` (no link-local address yet, or a send failed): try again later. */
  retryAfter(now: number, ms: number): void {
    this.nextAt = now + ms;
  }
}
