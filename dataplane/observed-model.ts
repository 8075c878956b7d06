// The kernel's links and addresses of one namespace, kept current by events: one full dump at
// start (and whenever events were lost, or the caller asks), then each event updates the model
// in place, so a caller that looks often pays for a dump only when something forces one.
//
// Events that arrive during a dump are held and replayed after it: each event carries the
// whole object as it was at that moment and they come in order, so the last word on every
// object is right whether it landed before or after the dump read it.
import type { Address, Dataplane, DataplaneEvent, DataplaneWatch, Link, ObservedState } from './types.js';

export interface ObservedModelOptions {
  /** After the model took an event in. */
  onChange?: (event: DataplaneEvent) => void;
  /** Events were lost: the model is stale until refresh() (which the caller should run soon). */
  onLost?: (reason: string) => void;
}

export class ObservedModel {
  private readonly links = new Map<number, Link>();
  /** Addresses by ifindex, then by cidr: a link's addresses go with it in one step. */
  private readonly addresses = new Map<number, Map<string, Address>>();
  private held: DataplaneEvent[] | null = null;
  private watch: DataplaneWatch | null = null;
  private cached: ObservedState | null = null;
  private stale = true;
  private paused = false;
  /** Full dumps taken (start, losses, explicit refreshes). */
  dumps = 0;

  private constructor(private readonly dp: Dataplane, private readonly options: ObservedModelOptions) {}

  /** Starts watching, then takes the first dump. */
  static async open(dp: Dataplane, options: ObservedModelOptions = {}): Promise<ObservedModel> {
    const model = new ObservedModel(dp, options);
    model.watch = await dp.watch({
      onEvent: (e) => model.take(e),
      onResync: (reason) => {
        model.stale = true;
        // While paused the caller re-reads anyway: a loss then is nothing to report.
        if (!model.paused) options.onLost?.(reason);
      },
    }, ['link', 'address']);
    await model.refresh();
    return model;
  }

  /** True when events were lost since the last dump. */
  get isStale(): boolean {
    return this.stale;
  }

  /** Re-reads links and addresses with one dump each, keeping events that raced with it. */
  async refresh(): Promise<void> {
    this.held = [];
    this.stale = false;
    try {
      const state = await this.dp.observe(['addresses']);
      this.links.clear();
      this.addresses.clear();
      for (const l of state.links) this.links.set(l.index, l);
      for (const a of state.addresses) this.putAddress(a);
      this.dumps++;
    } finally {
      const held = this.held;
      this.held = null;
      this.cached = null;
      for (const e of held) this.update(e);
    }
  }

  /** Takes in the events queued now, where the watch can deliver them at once (no dump ever). */
  async flush(): Promise<void> {
    if (this.watch && !this.paused && !this.stale) await this.watch.flush();
  }

  /**
   * Brings the model up to what the kernel has told so far: the events queued now when the
   * watch can deliver them all (no dump), a full re-read otherwise (or when stale).
   */
  async catchUp(): Promise<void> {
    if (!this.stale && !this.paused && this.watch && (await this.watch.flush()) && !this.stale) return;
    await this.refresh();
  }

  /** Links and addresses as the model has them now (routes and neighbours are not kept). */
  snapshot(): ObservedState {
    if (!this.cached) {
      const addresses: Address[] = [];
      for (const byCidr of this.addresses.values()) for (const a of byCidr.values()) addresses.push(a);
      this.cached = { links: [...this.links.values()], addresses, routes: [], neighbours: [] };
    }
    return this.cached;
  }

  /**
   * Stops taking events in (they are discarded unread) while the caller makes changes it will
   * re-read with refresh(); until then the model counts as stale.
   */
  pause(): void {
    this.watch?.pause();
    this.paused = true;
    this.stale = true;
  }

  resume(): void {
    this.watch?.resume();
    this.paused = false;
  }

  close(): void {
    this.watch?.close();
    this.watch = null;
  }

  private take(e: DataplaneEvent): void {
    if (this.held) {
      this.held.push(e);
      return;
    }
    this.update(e);
    this.options.onChange?.(e);
  }

  private update(e: DataplaneEvent): void {
    if (e.kind === 'link') {
      this.cached = null;
      if (e.action === 'new') {
        this.links.set(e.link.index, e.link);
        // A renamed link: its addresses carry the new name from now on.
        const own = this.addresses.get(e.link.index);
        if (own) for (const [k, a] of own) if (a.dev !== e.link.name) own.set(k, { ...a, dev: e.link.name });
      } else {
        this.links.delete(e.link.index);
        this.addresses.delete(e.link.index);
      }
    } else if (e.kind === 'address') {
      this.cached = null;
      const a = e.address.dev ? e.address : { ...e.address, dev: this.links.get(e.address.index)?.name ?? '' };
      if (e.action === 'new') this.putAddress(a);
      else this.addresses.get(a.index)?.delete(a.cidr);
    }
  }

  private putAddress(a: Address): void {
    let own = this.addresses.get(a.index);
    if (!own) this.addresses.set(a.index, (own = new Map()));
    own.set(a.cidr, a);
  }
}
