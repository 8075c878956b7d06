// The agent's DHCP servers: one dhcp/ DhcpServer per network that serves DHCP, bound to the
// network's bridge in the agent's namespace, its leases in <state-dir>/leases/<network>.leases.
// The reconciler calls sync() after each pass (links and addresses are in place by then):
// servers start once their bridge carries the server address, are reconfigured (socket and
// leases kept) when settings change, restarted (leases kept: they are in the file) when the
// bridge was recreated, and stopped when DHCP is disabled or the network removed.
// Lease files: kept when DHCP is disabled (re-enabling gives clients their addresses back),
// removed when the network leaves the desired state while we served it (a later network of
// the same name starts clean). Only networks this process saw serving DHCP have their file
// removed, so an agent that could not read its state does not lose anyone's leases.
// Routed networks (no bridge; agent/desired/routed.ts) are served like nfdhcpd serves its TAPs:
// one server per network, with one socket per attachment device that carries the gateway /32
// (the links planner puts it there), all sharing the network's one lease store, so addresses
// never collide between devices. The server starts without devices (its leases stay known to
// the address book and ipam while no workload runs), gains a device when it appears with its
// address and loses it when it goes; DhcpServing says on how many devices it serves.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Dataplane, ObservedState } from '../../dataplane/types.js';
import { LeaseStore } from '../../dhcp/lease-store.js';
import { DhcpServer, type DhcpLog } from '../../dhcp/server.js';
import type { Lease, NeighbourWriter, NetworkDhcpConfig } from '../../dhcp/types.js';
import type { DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { F, T, type ComputedCondition } from '../conditions/condition.js';
import { bridgeNameOf, ifNameOf } from '../naming.js';
import { dhcpConfigOf, dhcpServerAddressOf, servesDhcp, type DhcpConfigContext } from './config.js';
import { isRouted } from '../desired/routed.js';
import { networkMtu } from '../desired/mtu.js';
import { assignAddresses, type AddressAssignments, type HeldLease } from '../ipam/assignments.js';
import { DhcpStatsBook, type DhcpNetworkStats } from './stats.js';

export interface DhcpHostOptions {
  /** The agent's namespace (the dataplane's): where the bridges are. */
  netns: string | null;
  stateDir: string;
  neighbours?: NeighbourWriter | null;
  log?: DhcpLog;
  /**
   * Awaited (at most LEASE_LISTENER_TIMEOUT_MS) after a lease is committed and before the
   * reply: port security allows a workload's new address before the workload uses it.
   */
  onLeaseCommitted?: (network: string, lease: Lease) => Promise<void>;
  /**
   * Every attachment's addresses (agent/ipam): their first IPv4 address is reserved for their
   * MAC. Default: computed here from the desired state and the leases, without stored choices.
   */
  assignments?: (desired: DesiredState) => Pick<AddressAssignments, 'onNetwork'>;
}

/** A stuck listener must not stop DHCP: past this the reply goes out anyway. */
const LEASE_LISTENER_TIMEOUT_MS = 1000;

/** What DHCP holds for workloads, as of one desired state (built once per pass). */
export interface DhcpAddressBook {
  /** Bound leases and reservations (an auto attachment's included) of this MAC on the network. */
  addressesOf(network: string, mac: string): string[];
  serverAddress(network: string): string | undefined;
  /** When the first of the bound leases in this book expires (ms since the epoch), if any. */
  nextExpiry(): number | undefined;
}

interface Instance {
  server: DhcpServer;
  /** Devices served, with the ifindex each socket was bound on: a bridged network's one bridge, a routed network's attachment devices. */
  devices: Map<string, number>;
  /** Started for a routed network (its sockets follow the devices). */
  routed: boolean;
  configKey: string;
  /** Requests found the pools full, and no OFFER went out since. */
  exhausted: boolean;
}

/** A change sync() would make to one network's server. */
export interface DhcpChange {
  op: 'startDhcp' | 'restartDhcp' | 'reconfigureDhcp' | 'stopDhcp' | 'serveDhcpDevice' | 'unserveDhcpDevice';
  network: string;
  description: string;
}

/** Why a network does not serve (or that it does), as its DhcpServing condition. */
type Serving = { ok: true; message: string } | { ok: false; reason: string; message: string };

/** The dataplane as the transport's NeighbourWriter (as dhcp/serve-main.ts does). */
export function neighbourWriter(dp: Dataplane): NeighbourWriter {
  return { setNeighbour: (dev, ip, mac) => dp.setNeighbour({ dev, ip, mac, state: 'reachable' }) };
}

export class DhcpHost {
  private readonly instances = new Map<string, Instance>();
  private readonly serving = new Map<string, Serving>();
  /** Networks that served DHCP in some desired state of this process (their files are ours to remove). */
  private readonly seen = new Set<string>();
  private closed = false;
  /** Counts of every instance this host ran, kept across restarts (metrics). */
  private readonly statsBook = new DhcpStatsBook();
  /** Leases read from disk for networks whose server has not started yet (preloadLeases). */
  private readonly preloaded = new Map<string, Lease[]>();

  constructor(private readonly options: DhcpHostOptions) {}

  leaseFile(network: string): string {
    return path.join(this.options.stateDir, 'leases', `${network}.leases`);
  }

  /** Brings the servers in line with the desired state and the kernel as the pass left it. */
  async sync(desired: DesiredState, observed: ObservedState): Promise<void> {
    if (this.closed) return;
    const wanted = new Set<string>();
    for (const n of desired.networks) {
      if (!servesDhcp(n)) continue;
      wanted.add(n.name);
      this.seen.add(n.name);
      const inst = this.instances.get(n.name);
      if (inst && inst.routed !== isRouted(n)) {
        // The network changed its mode: a bridge's socket has no place on a routed network, and back.
        await this.stopInstance(n.name, inst);
      }
      if (isRouted(n)) await this.syncRouted(n, desired, observed);
      else await this.syncBridged(n, desired, observed);
    }
    for (const [name, inst] of [...this.instances]) {
      if (!wanted.has(name)) await this.stopInstance(name, inst);
    }
    for (const name of [...this.seen]) {
      if (desired.networks.some((n) => n.name === name)) continue;
      this.seen.delete(name);
      await rm(this.leaseFile(name), { force: true }).catch((err: unknown) =>
        this.options.log?.warn({ network: name, err: errText(err) }, 'lease file of a removed network not removed'));
    }
    for (const name of [...this.serving.keys()]) if (!wanted.has(name)) this.serving.delete(name);
    // Every instance is seen while it runs, so its counts outlive it (metrics never go down).
    this.statsBook.see(this.currentServers());
  }

  /** A bridged network: one socket on its bridge, started once the bridge carries the server address. */
  private async syncBridged(n: Network, desired: DesiredState, observed: ObservedState): Promise<void> {
    const device = bridgeNameOf(n);
    const bridge = observed.links.find((l) => l.name === device);
    const server = dhcpServerAddressOf(n);
    const hasAddress = observed.addresses.some((a) => bridge !== undefined && a.index === bridge.index && a.family === 4 && a.cidr.split('/')[0] === server);
    let inst = this.instances.get(n.name);
    if (!bridge || !hasAddress) {
      // Without its address the server would hand out an identifier nobody can reach.
      if (inst) await this.stopInstance(n.name, inst);
      this.serving.set(n.name, {
        ok: false, reason: 'NoServerAddress',
        message: bridge ? `bridge "${device}" does not carry the server address ${server}` : `bridge "${device}" does not exist`,
      });
      return;
    }
    if (inst && (inst.devices.size !== 1 || inst.devices.get(device) !== bridge.index)) {
      // The bridge was renamed or recreated: the bound socket is stale. The leases are in the file.
      await this.stopInstance(n.name, inst);
      inst = undefined;
    }
    const config = this.configOf(n, desired, observed);
    if (!config) return;
    inst ??= (await this.startInstance(n, config, device, bridge.index)) ?? undefined;
    if (!inst || !this.reconfigure(n, inst, config) || this.isExhausted(n, inst)) return;
    this.serving.set(n.name, { ok: true, message: `serving on "${device}" as ${config.serverAddress}` });
  }

  /**
   * A routed network: one server with a socket per attachment device that carries the gateway.
   * The server runs while the network serves DHCP, devices or not (its leases stay known).
   */
  private async syncRouted(n: Network, desired: DesiredState, observed: ObservedState): Promise<void> {
    const config = this.configOf(n, desired, observed);
    if (!config) return;
    const inst = this.instances.get(n.name) ?? await this.startInstance(n, config, '', 0);
    if (!inst) return;
    const { ready, lacking } = routedDevices(n, desired, observed, config.serverAddress);
    for (const [dev, index] of [...inst.devices]) {
      if (ready.get(dev) === index) continue;
      // Gone, lost its address, or recreated (the socket is bound to the old ifindex).
      inst.devices.delete(dev);
      await inst.server.removeDevice(dev).catch((err: unknown) =>
        this.options.log?.warn({ network: n.name, device: dev, err: errText(err) }, 'DHCP socket of a device did not close cleanly'));
    }
    const failed: string[] = [];
    for (const [dev, index] of ready) {
      if (inst.devices.has(dev)) continue;
      try {
        await inst.server.addDevice(dev);
        inst.devices.set(dev, index);
      } catch (err) {
        failed.push(`${dev}: ${errText(err)}`);
        this.options.log?.warn({ network: n.name, device: dev, err: errText(err) }, 'DHCP server could not serve a device');
      }
    }
    if (!this.reconfigure(n, inst, config) || this.isExhausted(n, inst)) return;
    const served = [...inst.devices.keys()].sort();
    const serving = `serving on ${served.length} device${served.length === 1 ? '' : 's'}${served.length > 0 ? ` (${served.join(', ')})` : ''} as ${config.serverAddress}`;
    if (failed.length > 0) {
      this.serving.set(n.name, { ok: false, reason: 'SocketError', message: `${serving}; not on ${failed.join('; ')}` });
    } else if (lacking.length > 0) {
      this.serving.set(n.name, { ok: false, reason: 'NoServerAddress', message: `${serving}; ${lacking.map((d) => `"${d}"`).join(', ')} without the gateway ${config.serverAddress}/32` });
    } else {
      this.serving.set(n.name, { ok: true, message: serving });
    }
  }

  /** The network's server configuration; null (with DhcpServing saying why when it is invalid) when there is none. */
  private configOf(n: Network, desired: DesiredState, observed: ObservedState): NetworkDhcpConfig | null {
    try {
      return dhcpConfigOf(n, this.contextOf(desired, observed, n));
    } catch (err) {
      this.serving.set(n.name, { ok: false, reason: 'InvalidConfig', message: errText(err) });
      return null;
    }
  }

  /** Starts a network's server (on `device`, or none yet: ""); null with SocketError when it cannot. */
  private async startInstance(n: Network, config: NetworkDhcpConfig, device: string, ifindex: number): Promise<Instance | null> {
    const listener = this.options.onLeaseCommitted;
    const srv = new DhcpServer({
      netns: this.options.netns, device, config, leaseFile: this.leaseFile(n.name),
      ...(listener ? { onCommitted: (lease: Lease) => withTimeout(listener(n.name, lease), LEASE_LISTENER_TIMEOUT_MS) } : {}),
      neighbours: this.options.neighbours ?? null, ...(this.options.log ? { log: this.options.log } : {}),
    });
    try {
      await mkdir(path.dirname(this.leaseFile(n.name)), { recursive: true, mode: 0o750 });
      await srv.start();
    } catch (err) {
      await srv.stop().catch(() => undefined);
      this.serving.set(n.name, { ok: false, reason: 'SocketError', message: errText(err) });
      this.options.log?.warn({ network: n.name, err: errText(err) }, 'DHCP server did not start');
      return null;
    }
    const inst: Instance = {
      server: srv, devices: new Map(device ? [[device, ifindex]] : []), routed: isRouted(n), configKey: JSON.stringify(config), exhausted: false,
    };
    this.preloaded.delete(n.name);
    this.instances.set(n.name, inst);
    return inst;
  }

  /** Applies a changed configuration; false (DhcpServing says why, the old one keeps serving) when it cannot. */
  private reconfigure(n: Network, inst: Instance, config: NetworkDhcpConfig): boolean {
    const key = JSON.stringify(config);
    if (key === inst.configKey) return true;
    try {
      inst.server.reconfigure(config);
      inst.configKey = key;
      return true;
    } catch (err) {
      this.serving.set(n.name, { ok: false, reason: 'InvalidConfig', message: errText(err) });
      return false;
    }
  }

  /**
   * Exhausted while the latest of the two was a request refused for lack of an address rather
   * than an OFFER (an address was free again), and the pools still have no free address (a
   * lease released or expired since frees one without any OFFER): decided by their order and
   * the pools now, not by what one pass happened to see. True (DhcpServing says so) when exhausted.
   */
  private isExhausted(n: Network, inst: Instance): boolean {
    const exhausted = exhaustedOf(inst.server);
    const latest = inst.server.counters.handler?.latest;
    const pool = inst.server.poolUsage();
    const full = !pool || pool.used >= pool.size;
    inst.exhausted = !!latest && latest.poolExhausted > latest.offer && full;
    if (inst.exhausted) {
      this.serving.set(n.name, { ok: false, reason: 'PoolExhausted', message: `no free address in the pools (${exhausted} requests refused so far)` });
    }
    return inst.exhausted;
  }

  /**
   * What sync() would change now, one line each: the plan's (and the dry run's) view of the
   * servers. Mirrors sync()'s decisions without touching a socket or a file.
   */
  pending(desired: DesiredState, observed: ObservedState): DhcpChange[] {
    if (this.closed) return [];
    const out: DhcpChange[] = [];
    const wanted = new Set<string>();
    const links = new Map(observed.links.map((l) => [l.name, l]));
    for (const n of desired.networks) {
      if (!servesDhcp(n)) continue;
      wanted.add(n.name);
      const server = dhcpServerAddressOf(n);
      const inst = this.instances.get(n.name);
      if (isRouted(n)) {
        out.push(...this.pendingRouted(n, desired, observed, inst, server));
        continue;
      }
      const device = bridgeNameOf(n);
      const bridge = links.get(device);
      // Without an instance, the start is planned even while the bridge or its address is
      // still to come: the kernel participant runs first in the same pass and puts them there.
      if (!inst) {
        out.push({ op: 'startDhcp', network: n.name, description: `start DHCP server of network ${n.name} on "${device}" as ${server}` });
        continue;
      }
      if (inst.routed) {
        out.push({ op: 'restartDhcp', network: n.name, description: `restart DHCP server of network ${n.name}: the network is no longer routed` });
        continue;
      }
      const ready = !!bridge && observed.addresses.some((a) => a.index === bridge.index && a.family === 4 && a.cidr.split('/')[0] === server);
      if (!ready) {
        out.push({ op: 'stopDhcp', network: n.name, description: `stop DHCP server of network ${n.name}: "${device}" lacks the server address ${server}` });
        continue;
      }
      if (inst.devices.size !== 1 || inst.devices.get(device) !== bridge.index) {
        out.push({ op: 'restartDhcp', network: n.name, description: `restart DHCP server of network ${n.name}: bridge "${device}" was recreated` });
        continue;
      }
      const change = this.pendingReconfigure(n, desired, observed, inst);
      if (change) out.push(change);
    }
    for (const name of this.instances.keys()) {
      if (!wanted.has(name)) out.push({ op: 'stopDhcp', network: name, description: `stop DHCP server of network ${name}: DHCP no longer desired` });
    }
    return out;
  }

  /** A routed network's pending changes: its start, and the devices it gains and loses. */
  private pendingRouted(n: Network, desired: DesiredState, observed: ObservedState, inst: Instance | undefined, server: string): DhcpChange[] {
    if (!inst) {
      // The devices and their gateway come from the kernel participant earlier in the same pass.
      return [{ op: 'startDhcp', network: n.name, description: `start DHCP server of routed network ${n.name} on its attachments' devices as ${server}` }];
    }
    if (!inst.routed) return [{ op: 'restartDhcp', network: n.name, description: `restart DHCP server of network ${n.name}: the network is now routed` }];
    const out: DhcpChange[] = [];
    const { ready } = routedDevices(n, desired, observed, server);
    for (const [dev, index] of inst.devices) {
      if (ready.get(dev) !== index) out.push({ op: 'unserveDhcpDevice', network: n.name, description: `stop serving DHCP of network ${n.name} on "${dev}": gone, recreated or without the gateway ${server}` });
    }
    for (const dev of ready.keys()) {
      if (!inst.devices.has(dev)) out.push({ op: 'serveDhcpDevice', network: n.name, description: `serve DHCP of network ${n.name} on "${dev}" as ${server}` });
    }
    const change = this.pendingReconfigure(n, desired, observed, inst);
    if (change) out.push(change);
    return out;
  }

  private pendingReconfigure(n: Network, desired: DesiredState, observed: ObservedState, inst: Instance): DhcpChange | null {
    let key: string | null = null;
    try {
      const config = dhcpConfigOf(n, this.contextOf(desired, observed, n));
      key = config ? JSON.stringify(config) : null;
    } catch {
      key = null; // reported as InvalidConfig by sync()
    }
    return key !== null && key !== inst.configKey ? { op: 'reconfigureDhcp', network: n.name, description: `reconfigure DHCP server of network ${n.name} (leases kept)` } : null;
  }

  /** The network's DhcpServing condition, or null when it does not serve DHCP. */
  condition(network: string): ComputedCondition | null {
    const s = this.serving.get(network);
    if (!s) return null;
    return s.ok
      ? { type: 'DhcpServing', status: T, reason: 'Serving', message: s.message }
      : { type: 'DhcpServing', status: F, reason: s.reason, message: s.message };
  }

  /**
   * Reads the lease files of DHCP networks whose server is not running yet, so that the
   * first pass after a restart knows who holds which address before the servers start.
   */
  async preloadLeases(desired: DesiredState): Promise<void> {
    for (const n of desired.networks) {
      if (!servesDhcp(n) || this.instances.has(n.name)) continue;
      const file = this.leaseFile(n.name);
      const store = await LeaseStore.open(file).catch(() => null);
      if (!store) continue;
      this.preloaded.set(n.name, store.all());
      await store.close();
    }
  }

  addressBook(desired: DesiredState): DhcpAddressBook {
    const now = Date.now();
    let nextExpiry: number | undefined;
    const byNetwork = new Map<string, Map<string, string[]>>();
    for (const n of desired.networks) {
      if (!servesDhcp(n)) continue;
      const inst = this.instances.get(n.name);
      const leases = inst ? inst.server.leases() : this.preloaded.get(n.name) ?? [];
      const byMac = new Map<string, string[]>();
      const add = (mac: string, ip: string): void => {
        const list = byMac.get(mac.toLowerCase()) ?? [];
        if (!list.includes(ip)) list.push(ip);
        byMac.set(mac.toLowerCase(), list);
      };
      for (const l of leases) {
        if (l.state !== 'bound' || l.expiresAt <= now) continue;
        add(l.mac, l.ip);
        if (nextExpiry === undefined || l.expiresAt < nextExpiry) nextExpiry = l.expiresAt;
      }
      let config: NetworkDhcpConfig | null = null;
      try {
        config = inst ? (JSON.parse(inst.configKey) as NetworkDhcpConfig) : dhcpConfigOf(n, this.contextOf(desired, null, n));
      } catch {
        config = null; // reported as InvalidConfig by sync()
      }
      for (const r of config?.reservations ?? []) add(r.mac, r.ip);
      byNetwork.set(n.name, byMac);
    }
    const servers = new Map(desired.networks.filter(servesDhcp).map((n) => [n.name, dhcpServerAddressOf(n)]));
    return {
      addressesOf: (network, mac) => byNetwork.get(network)?.get(mac.toLowerCase()) ?? [],
      serverAddress: (network) => servers.get(network),
      nextExpiry: () => nextExpiry,
    };
  }

  /** What a network's server configuration is made from; without `observed` (reservations only) the MTU is the default's. */
  private contextOf(desired: DesiredState, observed: ObservedState | null, n: Network): DhcpConfigContext {
    return { assignments: this.assignmentsOf(desired), node: desired.node, mtu: networkMtu(n, observed ?? { links: [], addresses: [] }) };
  }

  private assignmentsOf(desired: DesiredState): Pick<AddressAssignments, 'onNetwork'> {
    return this.options.assignments?.(desired) ?? assignAddresses(desired, {}, (network) => this.heldLeases(network));
  }

  /** The leases that hold their address on a network (bound or offered, not expired), stored ones before its server starts. */
  heldLeases(network: string): HeldLease[] {
    const inst = this.instances.get(network);
    const now = Date.now();
    const leases = inst ? inst.server.leases() : this.preloaded.get(network) ?? [];
    return leases.filter((l) => (l.state === 'bound' || l.state === 'offered') && l.expiresAt > now).map((l) => ({ ip: l.ip, mac: l.mac }));
  }

  /** Leases of every running server (or of one network). */
  leases(network = ''): Lease[] {
    const out: Lease[] = [];
    for (const [name, inst] of this.instances) if (!network || name === network) out.push(...inst.server.leases());
    return out;
  }

  /** The server address of each running server, by network. */
  serverAddress(network: string): string | undefined {
    const inst = this.instances.get(network);
    if (!inst) return undefined;
    return (JSON.parse(inst.configKey) as NetworkDhcpConfig).serverAddress;
  }

  /** Stops every server (leases are committed and kept). */
  async close(): Promise<void> {
    this.closed = true;
    for (const [name, inst] of [...this.instances]) await this.stopInstance(name, inst);
  }

  private async stopInstance(name: string, inst: Instance): Promise<void> {
    this.instances.delete(name);
    try {
      await inst.server.stop();
    } catch (err) {
      this.options.log?.warn({ network: name, err: errText(err) }, 'DHCP server did not stop cleanly');
    }
  }


  /** DHCP figures per network for metrics; counts survive server restarts (see stats.ts). */
  stats(): DhcpNetworkStats[] {
    return this.statsBook.collect(this.currentServers());
  }

  private currentServers(): Map<string, DhcpServer> {
    return new Map([...this.instances].map(([name, inst]) => [name, inst.server]));
  }
}

/**
 * A routed network's attachment devices as the kernel has them: `ready` (name -> ifindex) carry
 * the gateway (the server address) and are served; `lacking` exist without it. A device that
 * does not exist (yet) is neither: the links participant reports it.
 */
function routedDevices(n: Network, desired: DesiredState, observed: ObservedState, server: string): { ready: Map<string, number>; lacking: string[] } {
  const ready = new Map<string, number>();
  const lacking: string[] = [];
  for (const a of desired.attachments) {
    if (a.network !== n.name) continue;
    const dev = ifNameOf(a);
    if (!dev || ready.has(dev)) continue;
    const link = observed.links.find((l) => l.name === dev);
    if (!link) continue;
    const hasAddress = observed.addresses.some((x) => x.index === link.index && x.family === 4 && x.cidr.split('/')[0] === server);
    if (hasAddress) ready.set(dev, link.index);
    else lacking.push(dev);
  }
  return { ready, lacking };
}

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

function exhaustedOf(srv: DhcpServer): number {
  return srv.counters.handler?.dropped['pool-exhausted'] ?? 0;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
