// BGP EVPN through FRR as a reconcile participant ("bgp"). While the desired state has
// node.bgp, the agent keeps an FRR instance (zebra + bgpd, pathspace config.frr.pathspace) in
// the agent's network namespace and its configuration in force:
// - supervise on: it starts the daemons detached, adopts running ones found through their pid
//   files (an agent restart or kill -9 disturbs no session and no FDB entry), restarts only the
//   dead ones (bgpd with zebra when zebra died: a new zebra under an old bgpd gets no EVPN
//   routes back), and stops them when node.bgp goes. close() leaves them running.
// - supervise off: someone else runs FRR under that pathspace; the agent only writes frr.conf
//   and reloads it (and reports FrrNotRunning while nothing answers).
// frr.conf is rendered from the desired state (config.ts) and applied with frr-reload.py, which
// sends only the difference: sessions do not restart on a change.
// Reports: node condition BgpReady with node.bgpPeers; per network with `vxlan.evpn`,
// EvpnReady (zebra knows the VNI) with remoteVteps. FRR's state is polled every few seconds
// while BGP is configured; a pass is asked for only when what the report says would change.
// Routed networks (issue 13): their workloads' host routes (options.addresses, the same source
// the routed participant programs the kernel from) become `network` statements of an IPv4
// unicast family (config.ts says why): every pass renders them, and a changed text is reloaded.
import os from 'node:os';
import type { DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import type { BgpPeerStatus } from '../api/gen/hostnet/v1/status.js';
import { canonicalIp } from '../../dataplane/ip.js';
import { condition, NODE_RESOURCE, type ComputedCondition, type ResourceRef } from '../conditions/condition.js';
import { vxlanDeviceName } from '../naming.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, Problem, ResourceReport } from '../reconcile/participant.js';
import { FRR_CONFIG_HEADER, renderFrrConfig } from './config.js';
import { findDaemons, startDaemon, stopDaemon, type DaemonSet, type RunningDaemon } from './daemons.js';
import { describeInstance, FRR_DAEMONS, type FrrDaemon, type FrrInstance } from './instance.js';
import { readFrrConfig, reloadFrr, writeFrrConfig } from './reload.js';
import { readFrrState, type FrrState } from './state.js';
import { routedHostRoutes, type WorkloadAddresses } from '../routed/host-routes.js';

export interface BgpParticipantOptions {
  instance: FrrInstance;
  /** Start, adopt, restart and stop the daemons (true), or only configure an FRR someone else runs. */
  supervise: boolean;
  /** FRR's hostname (default: this host's). */
  hostname?: string;
  /** Asks the reconciler for a pass (FRR's state changed: a session, a VNI, a daemon). */
  onStateChange?: (why: string) => void;
  /** How often FRR's state is read while BGP is configured (default 3 s). */
  pollIntervalMs?: number;
  warn?: (msg: string, fields: Record<string, unknown>) => void;
  /** Routed networks' workload addresses (assigned and leased); without it no host route is announced. */
  addresses?: (desired: DesiredState) => WorkloadAddresses;
}

export interface BgpStep extends PlannedStep {
  readonly op: 'startFrr' | 'stopFrr' | 'reloadFrr';
  readonly daemon?: FrrDaemon;
  /** stopFrr: the process to stop. */
  readonly running?: RunningDaemon;
  /** reloadFrr: the whole frr.conf. */
  readonly config?: string;
}

const BGP_READY = 'BgpReady';
const EVPN_READY = 'EvpnReady';
const NODE: ResourceRef = { kind: 'node', name: NODE_RESOURCE };
/** A failed reload is tried again on later passes, not more often than this. */
const RELOAD_RETRY_MS = 5_000;

const evpnOf = (n: Network) => (n.uplink?.kind?.$case === 'vxlan' && n.uplink.kind.vxlan.evpn ? n.uplink.kind.vxlan : null);

export class BgpParticipant implements Participant<BgpStep> {
  readonly name = 'bgp';
  private readonly instance: FrrInstance;
  private readonly hostname: string;
  private readonly pollMs: number;
  /** The daemons as found after the last apply. */
  private daemons: DaemonSet = { zebra: null, bgpd: null };
  /** The configuration in force (last successful reload); null: none yet by this agent. */
  private applied: string | null = null;
  private reloadError: { message: string; at: number; config: string } | null = null;
  private startErrors = new Map<FrrDaemon, string>();
  private snapshot: FrrState | null = null;
  private reading: Promise<FrrState> | null = null;
  /** What the last report said, without uptimes: a poll that reads the same asks for no pass. */
  private reportedKey = '';
  private bgpConfigured = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: BgpParticipantOptions) {
    this.instance = options.instance;
    this.hostname = options.hostname ?? os.hostname();
    this.pollMs = options.pollIntervalMs ?? 3_000;
  }

  async plan(ctx: PassContext): Promise<ParticipantPlan<BgpStep>> {
    const steps: BgpStep[] = [];
    const bgp = ctx.desired.node?.bgp ?? null;
    const where = describeInstance(this.instance);
    const daemons = await findDaemons(this.instance);
    if (bgp) {
      const hostRoutes = this.options.addresses ? routedHostRoutes(ctx.desired, this.options.addresses(ctx.desired)) : [];
      const config = renderFrrConfig({ hostname: this.hostname, bgp, desired: ctx.desired, hostRoutes });
      let started = false;
      if (this.options.supervise) {
        const stop = (d: RunningDaemon, why: string): void => {
          steps.push({ op: 'stopFrr', resource: NODE, daemon: d.daemon, running: d, description: `stop ${d.daemon} (pid ${d.pid}) of ${where}: ${why}` });
        };
        const start = (daemon: FrrDaemon, why: string): void => {
          started = true;
          steps.push({ op: 'startFrr', resource: NODE, daemon, description: `start ${daemon} of ${where}: ${why}` });
        };
        const zebraOk = daemons.zebra?.inNetns ?? false;
        if (!zebraOk) {
          // bgpd goes with zebra: a new zebra under the old bgpd would get no EVPN routes back.
          if (daemons.bgpd) stop(daemons.bgpd, 'zebra is restarted');
          if (daemons.zebra) stop(daemons.zebra, 'it runs in another network namespace');
          start('zebra', daemons.zebra ? 'was in another network namespace' : 'not running');
          start('bgpd', daemons.bgpd ? 'restarted with zebra' : 'not running');
        } else if (!(daemons.bgpd?.inNetns ?? false)) {
          if (daemons.bgpd) stop(daemons.bgpd, 'it runs in another network namespace');
          start('bgpd', daemons.bgpd ? 'was in another network namespace' : 'not running');
        }
      }
      if (this.reloadDue(config, started, ctx.refresh)) {
        steps.push({ op: 'reloadFrr', resource: NODE, config, description: `reload ${where} (${this.applied === null ? 'first look' : this.applied !== config ? 'configuration changed' : started ? 'daemons started' : 'full resync'})` });
      }
    } else if (!ctx.holdTeardown && (daemons.zebra || daemons.bgpd || !this.options.supervise) && (await this.written())) {
      // Only an instance whose frr.conf hostnet wrote: a system FRR in the same pathspace is left alone.
      if (this.options.supervise) {
        for (const d of [...FRR_DAEMONS].reverse()) {
          const running = daemons[d];
          if (running) steps.push({ op: 'stopFrr', daemon: d, running, description: `stop ${d} (pid ${running.pid}) of ${where}: node.bgp is not set` });
        }
      } else if (await this.hasBgpConfigured()) {
        // Someone else's FRR: take back what hostnet configured, leave the daemons.
        steps.push({ op: 'reloadFrr', config: renderFrrConfig({ hostname: this.hostname, bgp: null }), description: `reload ${where} without BGP (node.bgp is not set)` });
      }
    }
    return { steps, problems: [] };
  }

  /** A reload when the text changed, daemons started, a full resync, or a failed one is due again. */
  private reloadDue(config: string, started: boolean, refresh: boolean): boolean {
    if (started || refresh || this.applied === null || this.applied !== config) {
      const failed = this.reloadError;
      // The same text failing again and again: retried at most every few seconds.
      return !(failed && !started && !refresh && failed.config === config && Date.now() - failed.at < RELOAD_RETRY_MS);
    }
    return false;
  }

  private async hasBgpConfigured(): Promise<boolean> {
    const text = this.applied ?? (await readFrrConfig(this.instance));
    return text !== null && /^router bgp /m.test(text);
  }

  /** Whether the instance's frr.conf is hostnet's (its first line says so). */
  private async written(): Promise<boolean> {
    const text = this.applied ?? (await readFrrConfig(this.instance));
    return text !== null && text.startsWith(FRR_CONFIG_HEADER);
  }

  async apply(plan: ParticipantPlan<BgpStep>, ctx: PassContext): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    const bgp = ctx.desired.node?.bgp ?? null;
    for (const step of plan.steps) {
      try {
        if (step.op === 'stopFrr' && step.running) {
          await stopDaemon(this.instance, step.running);
        } else if (step.op === 'startFrr' && step.daemon) {
          this.startErrors.delete(step.daemon);
          await startDaemon(this.instance, step.daemon);
        } else if (step.op === 'reloadFrr' && step.config !== undefined) {
          await writeFrrConfig(this.instance, step.config);
          await reloadFrr(this.instance);
          this.applied = step.config;
          this.reloadError = null;
        }
        outcome.applied++;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        let problem: Problem | null = null;
        if (step.op === 'reloadFrr') {
          this.applied = null;
          this.reloadError = { message: error, at: Date.now(), config: step.config ?? '' };
          if (bgp) problem = { resource: NODE, condition: BGP_READY, reason: 'ReloadFailed', message: error };
        } else if (step.op === 'startFrr' && step.daemon) {
          this.startErrors.set(step.daemon, error);
          problem = { resource: NODE, condition: BGP_READY, reason: 'FrrStartFailed', message: error };
        }
        outcome.failures.push({ step, error, problem: bgp ? problem : null });
      }
    }
    this.daemons = await findDaemons(this.instance);
    this.bgpConfigured = bgp !== null && !this.closed;
    if (this.bgpConfigured) {
      this.startPolling();
      // Fresh state after a change, or when the poll has fallen behind; otherwise the poll's.
      const stale = !this.snapshot || Date.now() - this.snapshot.readAt > this.pollMs * 2;
      if (outcome.applied > 0 || stale) await this.readState();
    } else {
      this.stopPolling();
      this.snapshot = null;
      this.startErrors.clear();
      if (!this.options.supervise && outcome.failures.length === 0) this.reloadError = null;
      if (this.options.supervise) this.applied = null;
    }
    return outcome;
  }

  report(ctx: PassContext, problems: readonly Problem[]): ResourceReport[] {
    const bgp = ctx.desired.node?.bgp ?? null;
    const out: ResourceReport[] = [];
    if (bgp) {
      const peers = this.peerStatuses(ctx.desired);
      out.push({ resource: NODE, conditions: [this.bgpReady(peers, problems)], node: { bgpPeers: peers } });
    }
    for (const n of ctx.desired.networks) {
      const vxlan = evpnOf(n);
      if (!vxlan) continue;
      const { cond, remoteVteps } = this.evpnReady(bgp !== null, vxlan.vni);
      out.push({ resource: { kind: 'network', name: n.name }, conditions: [cond], network: { remoteVteps } });
    }
    this.reportedKey = this.keyOf();
    return out;
  }

  private peerStatuses(desired: DesiredState): BgpPeerStatus[] {
    const now = Date.now();
    const known = this.snapshot?.peers ?? null;
    return (desired.node?.bgp?.peers ?? []).map((p) => {
      const s = known?.get(canonicalIp(p.address) ?? p.address);
      if (!s) return { address: p.address, asn: p.asn, state: known ? 'NotConfigured' : 'Unknown', prefixesReceived: 0, uptimeSeconds: 0 };
      const uptimeSeconds = s.establishedAt === null ? 0 : Math.max(0, Math.floor((now - s.establishedAt) / 1000));
      return { address: p.address, asn: p.asn, state: s.state, prefixesReceived: s.prefixesReceived, uptimeSeconds };
    });
  }

  private notRunning(): string | null {
    const missing = FRR_DAEMONS.filter((d) => !this.daemons[d]?.inNetns);
    if (missing.length === 0) return null;
    const what = `${missing.join(' and ')} of ${describeInstance(this.instance)} ${missing.length > 1 ? 'are' : 'is'} not running`;
    const errors = missing.map((d) => this.startErrors.get(d)).filter((e): e is string => !!e);
    if (errors.length > 0) return `${what}: ${errors.join('; ')}`;
    return this.options.supervise ? `${what} (starting it on the next pass)` : `${what} (supervise is off: start FRR with -N ${this.instance.pathspace || '(default)'})`;
  }

  private bgpReady(peers: BgpPeerStatus[], problems: readonly Problem[]): ComputedCondition {
    // Not running comes first: a reload of daemons that are not there fails too, and says less.
    const down = this.notRunning();
    if (down) return condition(BGP_READY, false, 'FrrNotRunning', down);
    const own = problems.find((p) => p.condition === BGP_READY);
    if (own) return condition(BGP_READY, false, own.reason, own.message);
    if (this.reloadError) return condition(BGP_READY, false, 'ReloadFailed', this.reloadError.message);
    if (!this.snapshot?.peers) return condition(BGP_READY, false, 'FrrUnreadable', this.snapshot?.bgpError ?? 'FRR\'s state was not read yet');
    if (peers.length === 0) return condition(BGP_READY, true, 'NoPeers', 'BGP runs without peers');
    const bad = peers.filter((p) => p.state !== 'Established');
    if (bad.length > 0) {
      return condition(BGP_READY, false, 'PeersNotEstablished', `${bad.length} of ${peers.length} peers not established: ${bad.map((p) => `${p.address} (${p.state})`).join(', ')}`);
    }
    return condition(BGP_READY, true, 'PeersEstablished', `${peers.length} peer${peers.length > 1 ? 's' : ''} established`);
  }

  private evpnReady(bgp: boolean, vni: number): { cond: ComputedCondition; remoteVteps: string[] } {
    const no = (reason: string, message: string) => ({ cond: condition(EVPN_READY, false, reason, message), remoteVteps: [] });
    if (!bgp) return no('BgpNotConfigured', `node.bgp is not set: nothing announces VNI ${vni}`);
    if (!this.daemons.zebra?.inNetns) return no('FrrNotRunning', `zebra of ${describeInstance(this.instance)} is not running`);
    const vnis = this.snapshot?.vnis;
    if (!vnis) return no('FrrUnreadable', this.snapshot?.zebraError ?? 'FRR\'s state was not read yet');
    const v = vnis.get(vni);
    if (!v) return no('VniUnknown', `zebra does not know VNI ${vni} (is ${vxlanDeviceName(vni)} up and in the bridge?)`);
    const n = v.remoteVteps.length;
    return { cond: condition(EVPN_READY, true, 'VniKnown', `VNI ${vni} on ${v.vxlanInterface}, ${n} remote VTEP${n === 1 ? '' : 's'}`), remoteVteps: v.remoteVteps };
  }

  /** What the report depends on, without uptimes (they change every second). */
  private keyOf(): string {
    const s = this.snapshot;
    return JSON.stringify({
      daemons: FRR_DAEMONS.map((d) => this.daemons[d]?.inNetns ?? false),
      peers: s?.peers ? [...s.peers.values()].map((p) => [p.address, p.state, p.prefixesReceived, p.establishedAt === null]) : s?.bgpError ?? null,
      vnis: s?.vnis ? [...s.vnis.values()].map((v) => [v.vni, v.vxlanInterface, v.remoteVteps]) : s?.zebraError ?? null,
      // A failed reload's retry falling due is a change too: the pass that follows tries again.
      retry: this.reloadError ? Date.now() - this.reloadError.at >= RELOAD_RETRY_MS : null,
    });
  }

  /** One read at a time; passes and the poll share it. */
  private readState(): Promise<FrrState> {
    if (!this.reading) {
      this.reading = readFrrState(this.instance).then((s) => {
        this.snapshot = s;
        return s;
      }).finally(() => {
        this.reading = null;
      });
    }
    return this.reading;
  }

  private startPolling(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.closed || !this.bgpConfigured) return;
    try {
      this.daemons = await findDaemons(this.instance);
      await this.readState();
    } catch (err) {
      this.options.warn?.('reading FRR state failed', { err: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (this.closed || !this.bgpConfigured) return;
    if (this.keyOf() !== this.reportedKey) this.options.onStateChange?.('frr state');
  }

  /** The agent stops or restarts: FRR keeps running (its sessions and FDB entries stay). */
  async close(): Promise<void> {
    this.closed = true;
    this.stopPolling();
    await this.reading?.catch(() => undefined);
  }
}
