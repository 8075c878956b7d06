// The agent's DHCPv6 servers: one dhcp/v6 Dhcp6Server per IPv6 subnet served (config6.ts),
// bound to the network's bridge in the agent's namespace (replies leave from the bridge's
// link-local address), leases in <state-dir>/leases/<network>.leases6. Started once the bridge
// exists, reconfigured in place (socket and leases kept), restarted when the bridge was
// recreated, stopped when no longer desired; a lease file is removed with its network.
// A routed network has no bridge: one server per attachment device instead (routed6.ts).
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ObservedState } from '../../dataplane/types.js';
import type { DhcpLog } from '../../dhcp/server.js';
import { Dhcp6Server } from '../../dhcp/v6/server.js';
import type { Lease6 } from '../../dhcp/v6/types.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { condition, type ComputedCondition } from '../conditions/condition.js';
import type { AddressAssignments } from '../ipam/assignments.js';
import type { DhcpAddressBook } from './host.js';
import { bridgeNameOf } from '../naming.js';
import { dhcp6ConfigOf } from './config6.js';
import type { Dhcp6Config } from '../../dhcp/v6/types.js';
import { isRouted } from '../desired/routed.js';
import { removeRoutedLeaseFiles, routedDhcp6Condition, routedDhcp6Targets, type RoutedDhcp6Target } from './routed6.js';

export interface Dhcp6HostOptions {
  netns: string | null;
  stateDir: string;
  assignments: (desired: DesiredState) => Pick<AddressAssignments, 'onNetwork'>;
  log?: DhcpLog;
  /** Awaited after a lease is durable and before the reply (port security allows the address first). */
  onLeaseCommitted?: (network: string, lease: Lease6) => Promise<void>;
}

interface Instance {
  server: Dhcp6Server;
  device: string;
  ifindex: number;
  configKey: string;
}

export interface Dhcp6Change {
  op: 'startDhcp6' | 'restartDhcp6' | 'reconfigureDhcp6' | 'stopDhcp6';
  network: string;
  description: string;
}

const CONDITION = 'Dhcpv6Serving';

export class Dhcp6Host {
  private readonly instances = new Map<string, Instance>();
  private readonly problems = new Map<string, { reason: string; message: string }>();
  private readonly seen = new Set<string>();
  /** The routed networks' per-device servers of the last pending()/sync(), and the links then. */
  private routedTargets: RoutedDhcp6Target[] = [];
  private lastLinks: ObservedState['links'] = [];

  constructor(private readonly options: Dhcp6HostOptions) {}

  /**
   * The servers the state asks for: one per bridged IPv6 subnet served (key: the network), and
   * on a routed network one per attachment device (key "<network>@<device>", routed6.ts).
   */
  private targets(desired: DesiredState, assigned: Pick<AddressAssignments, 'onNetwork'>): Array<{ key: string; network: string; device: string; config: Dhcp6Config }> {
    const out: Array<{ key: string; network: string; device: string; config: Dhcp6Config }> = [];
    for (const n of desired.networks) {
      if (isRouted(n)) continue;
      const config = dhcp6ConfigOf(n, assigned, desired.node);
      if (config) out.push({ key: n.name, network: n.name, device: bridgeNameOf(n), config });
    }
    this.routedTargets = routedDhcp6Targets(desired, assigned);
    return [...out, ...this.routedTargets];
  }

  /** `key`: a network, or "<network>@<device>" (routed6.ts). */
  leaseFile(network: string): string {
    return path.join(this.options.stateDir, 'leases', `${network}.leases6`);
  }

  /** What sync() would do, one line each (the plan's and the dry run's view). */
  pending(desired: DesiredState, observed: ObservedState): Dhcp6Change[] {
    const out: Dhcp6Change[] = [];
    const links = new Map(observed.links.map((l) => [l.name, l]));
    const wanted = new Set<string>();
    const assigned = this.options.assignments(desired);
    for (const t of this.targets(desired, assigned)) {
      wanted.add(t.key);
      const { device } = t;
      const what = t.key === t.network ? `network ${t.network}` : `network ${t.network} on routed device "${device}"`;
      const bridge = links.get(device);
      const inst = this.instances.get(t.key);
      if (!inst) {
        out.push({ op: 'startDhcp6', network: t.key, description: `start DHCPv6 server of ${what} on "${device}"` });
      } else if (!bridge || inst.device !== device || inst.ifindex !== bridge.index) {
        out.push({ op: 'restartDhcp6', network: t.key, description: `restart DHCPv6 server of ${what}: "${device}" was recreated` });
      } else if (JSON.stringify(t.config) !== inst.configKey) {
        out.push({ op: 'reconfigureDhcp6', network: t.key, description: `reconfigure DHCPv6 server of ${what} (leases kept)` });
      }
    }
    for (const name of this.instances.keys()) {
      if (!wanted.has(name)) out.push({ op: 'stopDhcp6', network: name, description: `stop DHCPv6 server of network ${name}: no longer desired` });
    }
    return out;
  }

  async sync(desired: DesiredState, observed: ObservedState): Promise<void> {
    this.lastLinks = observed.links;
    const links = new Map(observed.links.map((l) => [l.name, l]));
    const assigned = this.options.assignments(desired);
    const wanted = new Set<string>();
    for (const t of this.targets(desired, assigned)) {
      const { config, device, key: name } = t;
      wanted.add(name);
      this.seen.add(t.network);
      const bridge = links.get(device);
      let inst = this.instances.get(name);
      if (!bridge) {
        if (inst) await this.stopInstance(name, inst);
        this.problems.set(name, name === t.network
          ? { reason: 'BridgeMissing', message: `bridge "${device}" does not exist` }
          : { reason: 'DeviceMissing', message: `routed device "${device}" does not exist` });
        continue;
      }
      if (inst && (inst.device !== device || inst.ifindex !== bridge.index)) {
        await this.stopInstance(name, inst);
        inst = undefined;
      }
      const key = JSON.stringify(config);
      try {
        if (!inst) {
          const listener = this.options.onLeaseCommitted;
          const server = new Dhcp6Server({
            netns: this.options.netns, device, config, leaseFile: this.leaseFile(name),
            ...(this.options.log ? { log: this.options.log } : {}),
            ...(listener ? { onCommitted: (lease: Lease6) => listener(t.network, lease) } : {}),
          });
          await mkdir(path.dirname(this.leaseFile(name)), { recursive: true, mode: 0o750 });
          try {
            await server.start();
          } catch (err) {
            await server.stop().catch(() => undefined);
            throw err;
          }
          this.instances.set(name, { server, device, ifindex: bridge.index, configKey: key });
        } else if (inst.configKey !== key) {
          inst.server.reconfigure(config);
          inst.configKey = key;
        }
        this.problems.delete(name);
      } catch (err) {
        this.problems.set(name, { reason: inst ? 'InvalidConfig' : 'SocketError', message: err instanceof Error ? err.message : String(err) });
      }
    }
    for (const [name, inst] of [...this.instances]) if (!wanted.has(name)) await this.stopInstance(name, inst);
    for (const name of [...this.seen]) {
      if (desired.networks.some((n) => n.name === name)) continue;
      this.seen.delete(name);
      await rm(this.leaseFile(name), { force: true }).catch(() => undefined);
      // A routed network's per-device files (routed6.ts).
      const dir = path.dirname(this.leaseFile(name));
      await removeRoutedLeaseFiles(dir, name, await readdir(dir).catch(() => []));
    }
    for (const name of [...this.problems.keys()]) if (!wanted.has(name)) this.problems.delete(name);
  }

  condition(network: string): ComputedCondition | null {
    const routed = this.routedTargets.filter((t) => t.network === network);
    if (routed.length > 0) {
      return routedDhcp6Condition(routed, (k) => this.problems.get(k), (k) => this.instances.has(k), { links: this.lastLinks });
    }
    const p = this.problems.get(network);
    if (p) return condition(CONDITION, false, p.reason, p.message);
    const inst = this.instances.get(network);
    return inst ? condition(CONDITION, true, 'Serving', `serving on "${inst.device}"`) : null;
  }

  /** The leases of the running servers (of one network, or all). */
  leases(network = ''): Lease6[] {
    const out: Lease6[] = [];
    for (const [name, inst] of this.instances) if (!network || name === network || name.startsWith(`${network}@`)) out.push(...inst.server.leases());
    return out;
  }

  async close(): Promise<void> {
    for (const [name, inst] of [...this.instances]) await this.stopInstance(name, inst);
  }

  private async stopInstance(name: string, inst: Instance): Promise<void> {
    this.instances.delete(name);
    await inst.server.stop().catch(() => undefined);
  }
}

/** DHCPv4's address book with the bound DHCPv6 leases of each MAC added (the firewall's sources). */
export function withDhcp6Leases(book: DhcpAddressBook, host: Pick<Dhcp6Host, 'leases'>): DhcpAddressBook {
  const now = Date.now();
  const byKey = new Map<string, string[]>();
  for (const l of host.leases()) {
    if (l.state !== 'bound' || l.expiresAt <= now || !l.mac) continue;
    const key = `${l.network}|${l.mac.toLowerCase()}`;
    byKey.set(key, [...(byKey.get(key) ?? []), l.ip]);
  }
  return {
    addressesOf: (network, mac) => [...book.addressesOf(network, mac), ...(byKey.get(`${network}|${mac.toLowerCase()}`) ?? [])],
    serverAddress: (network) => book.serverAddress(network),
    nextExpiry: () => book.nextExpiry(),
  };
}
