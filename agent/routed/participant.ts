// The routed participant (after the links participant, which makes the devices and puts the
// gateway on them): for every routed network, one host route per workload address through its
// attachment's device (hostnet's protocol number: /32s, and /128s on a network with IPv6), and
// forwarding, proxy_arp and proxy_delay 0 (IPv6: forwarding, force_forwarding, accept_ra 0) on
// each device (plan.ts says why). It removes only routes with hostnet's protocol that no
// attachment wants, so an agent restart adopts what is there and removes nothing.
//
// The reconciler's kernel model holds links and addresses only, so route changes would not wake
// a pass: this participant watches route (and link) events itself and keeps a record of
// hostnet's host routes, updated by its own changes and the kernel's events, and asks for a pass
// (onDrift) when a route it wants was deleted or one it does not want appeared. A device that
// goes down or away takes its IPv4 routes with it without any route event: a link event for a
// routed device makes the record unknown (read again). Refresh passes and lost events read again.
import type { Dataplane, DataplaneWatch, Link, Route } from '../../dataplane/types.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { condition } from '../conditions/condition.js';
import { isRouted } from '../desired/routed.js';
import type {
  ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, Problem, ResourceReport,
} from '../reconcile/participant.js';
import type { SysctlBatch } from '../../dataplane/sysctl.js';
import { hostRouteDestination, routedHostRoutes, type HostRoute, type WorkloadAddresses } from './host-routes.js';
import {
  forceForwardingKey, HOSTNET_ROUTE_PROTO, isHostnetHostRoute, planHostRoutes, routedDevices, routedSysctls, type HostRoutesPlan,
} from './plan.js';

export type RoutedStep = PlannedStep & (
  | { readonly op: 'addHostRoute'; readonly route: HostRoute }
  | { readonly op: 'deleteHostRoute'; readonly route: Route }
  | { readonly op: 'setRoutedSysctls'; readonly devices: ReadonlyArray<{ dev: string; index: number; attachment: string }>; readonly values: Array<[string, string]> });

export interface RoutedOptions {
  dp: Pick<Dataplane, 'listRoutes' | 'addRoute' | 'deleteRoute' | 'watch'>;
  sysctl: SysctlBatch;
  /** The workloads' addresses (assigned by hostnet, leased by DHCP); nextExpiry: the first lease to expire. */
  addresses: (desired: DesiredState) => WorkloadAddresses & { nextExpiry?(): number | undefined };
  /** A host route changed under us, or events were lost: a pass should look. */
  onDrift: (why: string) => void;
  /** Asks for a pass at this time (a lease expires: its route goes). */
  wakeAt?: (at: number) => void;
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

const CONDITION = 'Routed';

interface PassPlan {
  routes: HostRoutesPlan;
  hostRoutes: HostRoute[];
}

export class RoutedParticipant implements Participant<RoutedStep> {
  readonly name = 'routed';
  /** Routes and sysctls only: the reconciler's link/address model has nothing of ours to discard or re-read. */
  readonly changesLinks = false;
  /** hostnet's host routes in the kernel by destination; null: unknown, read before planning. */
  private known: Map<string, Route> | null = null;
  /** What the last applied plan wanted (destination -> device) and the devices it routes through. */
  private wanted = new Map<string, string>();
  private wantedDevices = new Set<string>();
  private lastRoutes: HostRoute[] = [];
  /** Destinations some attachment has (wanted or blocked): never drift when present. */
  private owned = new Set<string>();
  /** Whether the last applied pass could remove routes (not while teardown is held). */
  private teardown = true;
  /** Devices whose switches were found (or set) right, by name -> ifindex then. */
  private tuned = new Map<string, number>();
  /** Until the first plan: the devices were there before this agent (see planSysctls). */
  private firstPlan = true;
  /** IPv6 devices whose kernel has no force_forwarding (before Linux 6.17): IPv6 not forwarded. */
  private noForceForwarding = new Set<string>();
  private readonly planned = new WeakMap<PassContext, PassPlan>();
  private watch: DataplaneWatch | null = null;
  private watchWarned = false;
  private closed = false;
  private applying = false;

  constructor(private readonly o: RoutedOptions) {}

  async plan(ctx: PassContext): Promise<ParticipantPlan<RoutedStep>> {
    const steps: RoutedStep[] = [];
    const problems: Problem[] = [];
    const devices = routedDevices(ctx.desired);
    const addresses = this.o.addresses(ctx.desired);
    const hostRoutes = routedHostRoutes(ctx.desired, addresses);
    const expiry = addresses.nextExpiry?.();
    if (expiry !== undefined && devices.length > 0) this.o.wakeAt?.(expiry);
    if (devices.length > 0) await this.startWatch();
    // Without a watch nothing keeps the record true: read on every pass then, but with no
    // routed network only on refresh passes (and once after start: what a removed network left).
    if (ctx.refresh || (!this.watch && devices.length > 0)) this.known = null;
    if (this.known === null) {
      try {
        this.known = new Map((await this.o.dp.listRoutes()).filter(isHostnetHostRoute).map((r) => [r.destination, r]));
      } catch (err) {
        for (const d of devices) problems.push(this.problem(d.attachment, 'RoutesUnreadable', `cannot list routes: ${errText(err)}`));
        this.planned.set(ctx, { routes: { add: [], remove: [], blocked: [], wanted: new Map() }, hostRoutes });
        return { steps, problems };
      }
    }
    const routes = planHostRoutes(hostRoutes, ctx.observed.links, [...this.known.values()], !ctx.holdTeardown);
    this.planned.set(ctx, { routes, hostRoutes });
    for (const b of routes.blocked) problems.push(this.problem(b.route.attachment, b.reason, b.message));
    // Switches first: a route is useful once the device forwards and answers ARP for it.
    steps.push(...await this.planSysctls(ctx, problems, devices));
    for (const r of routes.add) {
      const now = this.known.get(hostRouteDestination(r));
      steps.push({
        op: 'addHostRoute', route: r, resource: { kind: 'attachment', name: r.attachment },
        description: `add host route ${hostRouteDestination(r)} dev ${r.dev} proto ${HOSTNET_ROUTE_PROTO} for attachment ${r.attachment}: ${now ? `through ${now.dev ?? '?'} now` : 'missing'}`,
      });
    }
    for (const r of routes.remove) {
      steps.push({ op: 'deleteHostRoute', route: r, description: `delete host route ${r.destination} dev ${r.dev ?? '?'}: no attachment has that address` });
    }
    return { steps, problems };
  }

  private async planSysctls(ctx: PassContext, problems: Problem[], devices: ReturnType<typeof routedDevices>): Promise<RoutedStep[]> {
    const links = new Map<string, Link>(ctx.observed.links.map((l) => [l.name, l]));
    const devs = devices.map((d) => d.dev);
    const wantedDevs = new Set(devs);
    const attachmentOf = new Map(devices.map((d) => [d.dev, d.attachment]));
    const ipv6 = new Set(devices.filter((d) => d.ipv6).map((d) => d.dev));
    const sysctlsOf = (dev: string): Array<[string, string]> => routedSysctls(dev, ipv6.has(dev));
    for (const dev of [...this.tuned.keys()]) if (!wantedDevs.has(dev)) this.tuned.delete(dev);
    for (const dev of [...this.noForceForwarding]) if (!ipv6.has(dev)) this.noForceForwarding.delete(dev);
    // Only devices that exist, and only once per ifindex (a recreated device starts with defaults).
    const look = devs.filter((dev) => {
      const link = links.get(dev);
      return link && (ctx.refresh || this.tuned.get(dev) !== link.index);
    });
    // A device looked at between refreshes is new (e.g. 1000 TAPs the links participant just
    // made), recreated, or its last write failed: its switches are written without reading them
    // first (3000 keys of 1000 devices read for nothing; writing a right value again is
    // harmless); only IPv6's force_forwarding is read, which older kernels lack. The first plan
    // after a start and refresh passes read everything: a restart writes nothing that is right
    // already, and a refresh says what it found changed.
    const readAll = ctx.refresh || this.firstPlan;
    this.firstPlan = false;
    const fresh = new Set(readAll ? [] : look);
    if (look.length === 0) return [];
    const keys = look.flatMap((dev) => (fresh.has(dev) ? (ipv6.has(dev) ? [forceForwardingKey(dev)] : []) : sysctlsOf(dev).map(([k]) => k)));
    let values: Map<string, string | null>;
    try {
      values = await this.o.sysctl.read(keys);
    } catch (err) {
      const looked = new Set(look);
      for (const d of devices) if (looked.has(d.dev)) problems.push(this.problem(d.attachment, 'SysctlFailed', `cannot read the switches of ${d.dev}: ${errText(err)}`));
      return [];
    }
    // One write for every device (one process, not one per device: 1000 TAPs at once).
    const changed: Array<{ dev: string; index: number; attachment: string }> = [];
    const writes: Array<[string, string]> = [];
    const words: string[] = [];
    for (const dev of look) {
      const index = links.get(dev)!.index;
      // A kernel before 6.17 has no force_forwarding: nothing to write (report() says so).
      const noForce = values.get(forceForwardingKey(dev)) === null && ipv6.has(dev);
      if (noForce) this.noForceForwarding.add(dev);
      else this.noForceForwarding.delete(dev);
      const off = sysctlsOf(dev).filter(([k, v]) => (fresh.has(dev) || values.get(k) !== v) && !(noForce && k === forceForwardingKey(dev)));
      if (off.length === 0) {
        this.tuned.set(dev, index);
        continue;
      }
      changed.push({ dev, index, attachment: attachmentOf.get(dev)! });
      writes.push(...off);
      words.push(`${off.map(([k, v]) => `${k.split('/').filter((_, i) => i !== 3).slice(2).join('.')}=${v}`).join(', ')} on ${dev}`);
    }
    if (changed.length === 0) return [];
    return [{
      op: 'setRoutedSysctls', devices: changed, values: writes,
      ...(changed.length === 1 ? { resource: { kind: 'attachment' as const, name: changed[0]!.attachment } } : {}),
      description: `set ${words.join('; ')}`,
    }];
  }

  async apply(plan: ParticipantPlan<RoutedStep>, ctx: PassContext): Promise<ApplyOutcome> {
    const mine = this.planned.get(ctx);
    if (mine) {
      this.wanted = mine.routes.wanted;
      this.wantedDevices = new Set(mine.routes.wanted.values());
      this.lastRoutes = mine.hostRoutes;
      this.owned = new Set(mine.hostRoutes.map(hostRouteDestination));
    }
    this.teardown = !ctx.holdTeardown;
    // Routes and switches are not links or addresses: the reconciler's model has nothing to catch up.
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    this.applying = true;
    try {
      // The switches first; then every route at once (the iproute2 backend makes them one
      // `ip -batch`, netlink pipelines the requests).
      const sysctlSteps = plan.steps.filter((st) => st.op === 'setRoutedSysctls');
      for (const step of sysctlSteps) await this.run(step, outcome);
      await Promise.all(plan.steps.filter((st) => st.op !== 'setRoutedSysctls').map((step) => this.run(step, outcome)));
    } finally {
      this.applying = false;
    }
    const drift = this.drift();
    if (drift && outcome.failures.length === 0) this.o.onDrift(`${drift} during a pass`);
    return outcome;
  }

  private async run(step: RoutedStep, outcome: ApplyOutcome): Promise<void> {
    try {
      await this.applyStep(step);
      outcome.applied++;
    } catch (err) {
      const error = errText(err);
      if (step.op === 'setRoutedSysctls') {
        // Which key failed is in the message; every device of the batch is looked at again.
        for (const d of step.devices) {
          this.tuned.delete(d.dev);
          outcome.failures.push({ step, error, problem: this.problem(d.attachment, 'SysctlFailed', `cannot set the switches of ${d.dev}: ${error}`) });
        }
        return;
      }
      // Read again next time: the kernel may differ from the record.
      this.known = null;
      outcome.failures.push({ step, error, problem: step.resource ? this.problem(step.resource.name, 'RouteFailed', error) : null });
    }
  }

  private async applyStep(step: RoutedStep): Promise<void> {
    switch (step.op) {
      case 'addHostRoute': {
        const r = step.route;
        const dest = hostRouteDestination(r);
        await this.o.dp.addRoute({ destination: dest, dev: r.dev, protocol: HOSTNET_ROUTE_PROTO });
        // The kernel's IPv6 routes carry metric 1024 and universe scope; only destination and device are compared.
        this.known?.set(dest, { family: r.family, destination: dest, via: null, dev: r.dev, protocol: HOSTNET_ROUTE_PROTO, table: 254, metric: r.family === 4 ? 0 : 1024, scope: r.family === 4 ? 253 : 0, type: 1 });
        return;
      }
      case 'deleteHostRoute': {
        const r = step.route;
        await this.o.dp.deleteRoute({ destination: r.destination, ...(r.dev ? { dev: r.dev } : {}), protocol: HOSTNET_ROUTE_PROTO });
        this.known?.delete(r.destination);
        return;
      }
      case 'setRoutedSysctls':
        await this.o.sysctl.write(step.values);
        for (const d of step.devices) this.tuned.set(d.dev, d.index);
    }
  }

  /** What differs between the record and what the last pass wanted, in words; null when nothing. */
  private drift(): string | null {
    if (!this.known) return null;
    for (const [dest, dev] of this.wanted) {
      const r = this.known.get(dest);
      if (!r) return `host route ${dest} deleted`;
      if (r.dev !== null && r.dev !== dev) return `host route ${dest} moved to ${r.dev}`;
    }
    // A route no attachment wants is drift only when a pass would remove it (else: a pass loop).
    if (!this.teardown) return null;
    for (const dest of this.known.keys()) {
      if (!this.owned.has(dest)) return `host route ${dest} appeared`;
    }
    return null;
  }

  /**
   * Routed per attachment of a routed network: True with its routes ("10.95.0.11/32 via
   * hv-r1", with a note when this kernel cannot forward IPv6 per device), or False with the reason met in this pass, or when no route could be confirmed.
   */
  report(ctx: PassContext, problems: readonly Problem[]): ResourceReport[] {
    const networks = new Map(ctx.desired.networks.filter(isRouted).map((n) => [n.name, n]));
    const mine = this.planned.get(ctx);
    const byAttachment = new Map<string, HostRoute[]>();
    for (const r of mine?.hostRoutes ?? this.lastRoutes) byAttachment.set(r.attachment, [...byAttachment.get(r.attachment) ?? [], r]);
    return routedDevices(ctx.desired).map((d): ResourceReport => {
      const resource = { kind: 'attachment' as const, name: d.attachment };
      const own = problems.filter((p) => p.resource.kind === 'attachment' && p.resource.name === d.attachment && p.condition === CONDITION);
      if (own.length > 0) return { resource, conditions: [condition(CONDITION, false, own[0]!.reason, own.map((p) => p.message).join('; '))] };
      const mineRoutes = byAttachment.get(d.attachment) ?? [];
      if (mineRoutes.length === 0) {
        // A guest that takes its address by DHCP has none until its first lease: nothing is wrong yet.
        const dhcp = networks.get(d.network)?.dhcp?.enabled === true;
        return {
          resource,
          conditions: [dhcp
            ? condition(CONDITION, true, 'AwaitingLease', `no address yet: its host route comes with its DHCP lease (${d.dev})`)
            : condition(CONDITION, false, 'NoAddress', `no address assigned or leased: nothing to route to ${d.dev}`)],
        };
      }
      const missing = mineRoutes.filter((r) => this.known?.get(hostRouteDestination(r))?.dev !== r.dev);
      if (missing.length > 0) {
        return { resource, conditions: [condition(CONDITION, false, 'RouteMissing', `no host route yet for ${missing.map((r) => `${hostRouteDestination(r)} via ${r.dev}`).join(', ')}`)] };
      }
      const note = this.noForceForwarding.has(d.dev)
        ? ` (IPv6 is not forwarded from ${d.dev}: this kernel has no force_forwarding (Linux 6.17+) and hostnet leaves conf/all/forwarding alone)` : '';
      return { resource, conditions: [condition(CONDITION, true, 'Routed', mineRoutes.map((r) => `${hostRouteDestination(r)} via ${r.dev}`).join(', ') + note)] };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch?.close();
    this.watch = null;
  }

  private problem(attachment: string, reason: string, message: string): Problem {
    return { resource: { kind: 'attachment', name: attachment }, condition: CONDITION, reason, message };
  }

  private async startWatch(): Promise<void> {
    if (this.watch || this.closed) return;
    try {
      // Links too: the netlink watch names a route's device only while it follows link events,
      // and a device going down or away drops its routes silently.
      this.watch = await this.o.dp.watch({
        onEvent: (e) => {
          if (e.kind === 'route') this.onRoute(e.action, e.route);
          else if (e.kind === 'link') this.onLink(e.action, e.link);
        },
        onResync: (reason) => {
          this.known = null;
          this.o.onDrift(`route events lost (${reason})`);
        },
      }, ['link', 'route']);
      // Whatever happened before the watch started is unknown: read once now.
      this.known = null;
      if (this.closed) {
        this.watch.close();
        this.watch = null;
      }
    } catch (err) {
      // Not fatal: every pass then reads the routes (a hand-deleted route waits for the next pass).
      if (!this.watchWarned) this.o.warn?.('cannot watch route events: routes are read on every pass', { err: errText(err) });
      this.watchWarned = true;
    }
  }

  private onRoute(action: 'new' | 'del', r: Route): void {
    if (this.closed || !this.known || !isHostnetHostRoute(r)) return;
    if (action === 'new') this.known.set(r.destination, r);
    else {
      const had = this.known.get(r.destination);
      if (had && (r.dev === null || had.dev === null || had.dev === r.dev)) this.known.delete(r.destination);
    }
    if (this.applying) return;
    // Only this destination can have changed: a full drift() per event is quadratic when
    // 1000 routes come back as 1000 events after a pass.
    const drift = this.driftAt(r.destination);
    if (drift) this.o.onDrift(drift);
  }

  /** drift() for one destination (what one route event can change); null when none. */
  private driftAt(dest: string): string | null {
    const r = this.known?.get(dest);
    const dev = this.wanted.get(dest);
    if (dev !== undefined) {
      if (!r) return `host route ${dest} deleted`;
      return r.dev !== null && r.dev !== dev ? `host route ${dest} moved to ${r.dev}` : null;
    }
    return r && this.teardown && !this.owned.has(dest) ? `host route ${dest} appeared` : null;
  }

  private onLink(action: 'new' | 'del', link: Link): void {
    if (this.closed || !this.known) return;
    if (!this.wantedDevices.has(link.name) && ![...this.known.values()].some((r) => r.dev === link.name)) return;
    if (action === 'new' && link.up) return;
    // Its IPv4 routes went with it, and no route event says so.
    this.known = null;
    if (action === 'del') this.tuned.delete(link.name);
    // Even during a pass (it may have planned already): the request waits for it.
    this.o.onDrift(`routed device ${link.name} ${action === 'del' ? 'deleted' : 'down'}`);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
