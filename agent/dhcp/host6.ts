// The agent's DHCPv6 servers: one dhcp/v6 Dhcp6Server per IPv6 subnet served (config6.ts),
// bound to the network's bridge in the agent's namespace (replies leave from the bridge's
// link-local address), leases in <state-dir>/leases/<network>.leases6. Started once the bridge
// exists, reconfigured in place (socket and leases kept), restarted when the bridge was
// recreated, stopped when no longer desired; a lease file is removed with its network.
import { mkdir, rm } from 'node:fs/promises';
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
import { dhcp6ConfigOf, servesDhcp6 } from './config6.js';

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

  constructor(private readonly options: Dhcp6HostOptions) {}

  leaseFile(network: string): string {
    return path.join(this.options.stateDir, 'leases', `${network}.leases6`);
  }

  /** What sync() would do, one line each (the plan's and the dry run's view). */
  pending(desired: DesiredState, observed: ObservedState): Dhcp6Change[] {
    const out: Dhcp6Change[] = [];
    const links = new Map(observed.links.map((l) => [l.name, l]));
    const wanted = new Set<string>();
    const assigned = this.options.assignments(desired);
    for (const n of desired.networks) {
      if (!servesDhcp6(n)) continue;
      wanted.add(n.name);
      const device = bridgeNameOf(n);
      const bridge = links.get(device);
      const inst = this.instances.get(n.name);
      if (!inst) {
        out.push({ op: 'startDhcp6', network: n.name, description: `start DHCPv6 server of network ${n.name} on "${device}"` });
      } else if (!bridge || inst.device !== device || inst.ifindex !== bridge.index) {
        out.push({ op: 'restartDhcp6', network: n.name, description: `restart DHCPv6 server of network ${n.name}: bridge "${device}" was recreated` });
      } else if (JSON.stringify(dhcp6ConfigOf(n, assigned, desired.node)) !== inst.configKey) {
        out.push({ op: 'reconfigureDhcp6', network: n.name, description: `reconfigure DHCPv6 server of network ${n.name} (leases kept)` });
      }
    }
    for (const name of this.instances.keys()) {
      if (!wanted.has(name)) out.push({ op: 'stopDhcp6', network: name, description: `stop DHCPv6 server of network ${name}: no longer desired` });
    }
    return out;
  }

  async sync(desired: DesiredState, observed: ObservedState): Promise<void> {
    const links = new Map(observed.links.map((l) => [l.name, l]));
    const assigned = this.options.assignments(desired);
    const wanted = new Set<string>();
    for (const n of desired.networks) {
      const config = dhcp6ConfigOf(n, assigned, desired.node);
      if (!config) continue;
      wanted.add(n.name);
      this.seen.add(n.name);
      const device = bridgeNameOf(n);
      const bridge = links.get(device);
      let inst = this.instances.get(n.name);
      if (!bridge) {
        if (inst) await this.stopInstance(n.name, inst);
        this.problems.set(n.name, { reason: 'BridgeMissing', message: `bridge "${device}" does not exist` });
        continue;
      }
      if (inst && (inst.device !== device || inst.ifindex !== bridge.index)) {
        await this.stopInstance(n.name, inst);
        inst = undefined;
      }
      const key = JSON.stringify(config);
      try {
        if (!inst) {
          const listener = this.options.onLeaseCommitted;
          const server = new Dhcp6Server({
            netns: this.options.netns, device, config, leaseFile: this.leaseFile(n.name),
            ...(this.options.log ? { log: this.options.log } : {}),
            ...(listener ? { onCommitted: (lease: Lease6) => listener(n.name, lease) } : {}),
          });
          await mkdir(path.dirname(this.leaseFile(n.name)), { recursive: true, mode: 0o750 });
          try {
            await server.start();
          } catch (err) {
            await server.stop().catch(() => undefined);
            throw err;
          }
          this.instances.set(n.name, { server, device, ifindex: bridge.index, configKey: key });
        } else if (inst.configKey !== key) {
          inst.server.reconfigure(config);
          inst.configKey = key;
        }
        this.problems.delete(n.name);
      } catch (err) {
        this.problems.set(n.name, { reason: inst ? 'InvalidConfig' : 'SocketError', message: err instanceof Error ? err.message : String(err) });
      }
    }
    for (const [name, inst] of [...this.instances]) if (!wanted.has(name)) await this.stopInstance(name, inst);
    for (const name of [...this.seen]) {
      if (desired.networks.some((n) => n.name === name)) continue;
      this.seen.delete(name);
      await rm(this.leaseFile(name), { force: true }).catch(() => undefined);
    }
    for (const name of [...this.problems.keys()]) if (!wanted.has(name)) this.problems.delete(name);
  }

  condition(network: string): ComputedCondition | null {
    const p = this.problems.get(network);
    if (p) return condition(CONDITION, false, p.reason, p.message);
    const inst = this.instances.get(network);
    return inst ? condition(CONDITION, true, 'Serving', `serving on "${inst.device}"`) : null;
  }

  /** The leases of the running servers (of one network, or all). */
  leases(network = ''): Lease6[] {
    const out: Lease6[] = [];
    for (const [name, inst] of this.instances) if (!network || name === network) out.push(...inst.server.leases());
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
