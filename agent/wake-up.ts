// One timer for "look again at time T": asking for an earlier time moves it, a later one
// while an earlier is pending is ignored (the pass it triggers asks again).
export class WakeUp {
  private timer: NodeJS.Timeout | null = null;
  private due = Infinity;

  constructor(private readonly fire: () => void, private readonly now: () => number = Date.now) {}

  at(when: number): void {
    if (this.timer && when >= this.due) return;
    this.cancel();
    this.due = when;
    // Just after the moment, so the lease is really past it; at most ~24 days ahead (setTimeout's limit).
    const delay = Math.min(Math.max(0, when - this.now()) + 50, 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.due = Infinity;
      this.fire();
    }, delay);
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due = Infinity;
  }
}
