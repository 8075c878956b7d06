// What the NodeAgent RPCs do, without gRPC: changes of the desired state are validated
// against the stored state, stored atomically, then reconciled, one at a time (a mutex), so
// concurrent calls see each other's results in order. A refused change touches neither the
// kernel nor the store; a dry run plans against the kernel as it is and changes nothing.
import type { Dataplane } from '../../dataplane/types.js';
import { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import type { GetStatusResponse } from '../api/gen/hostnet/v1/agent.js';
import type { Lease as DhcpLease } from '../../dhcp/types.js';
import { LeaseState, type Lease, type NetworkIpUsage } from '../api/gen/hostnet/v1/status.js';
import type { DhcpHost } from '../dhcp/host.js';
import { checkExpectedGeneration } from '../desired/mutate.js';
import { Mutex, type DesiredStateStore } from '../desired/store.js';
import { assertValidDesiredState, ValidationError } from '../desired/validate.js';
import { EffectiveState } from '../cni/effective.js';
import type { Dhcp6Host } from '../dhcp/host6.js';
import type { Lease6 } from '../../dhcp/v6/types.js';
import { parseIp } from '../../dataplane/ip.js';
import type { DryRun, Reconciler } from '../reconcile/reconciler.js';
import { ipUsageOf } from './ip-usage.js';
import type { AddressAssignments } from '../ipam/assignments.js';

export interface ChangeResult {
  generation: number;
  plan: string[];
}

/** Port security's drop counters per attachment (the firewall participant). */
export interface PortSecurityCounters {
  drops(): Promise<Map<string, { spoof: number; ingress: number; egress: number }>>;
}

export interface NodeAgentParts {
  dhcp?: DhcpHost | null;
  portSecurity?: PortSecurityCounters | null;
  /** Every attachment's static and auto addresses (agent/ipam). */
  addresses?: ((desired: DesiredState) => AddressAssignments) | null;
  /** The control plane's state joined with the attachments made through hostnet-cni. */
  effective?: EffectiveState | null;
  /** The DHCPv6 servers' leases. */
  dhcp6?: Pick<Dhcp6Host, 'leases'> | null;
}

export class NodeAgent {
  private readonly mutex = new Mutex();
  private readonly dhcp: DhcpHost | null;
  private readonly portSecurity: PortSecurityCounters | null;
  private readonly addresses: ((desired: DesiredState) => AddressAssignments) | null;
  private readonly dhcp6: Pick<Dhcp6Host, 'leases'> | null;
  readonly effective: EffectiveState;

  constructor(
    readonly store: DesiredStateStore,
    readonly reconciler: Reconciler,
    private readonly dp: Dataplane,
    parts: NodeAgentParts = {},
  ) {
    this.dhcp = parts.dhcp ?? null;
    this.portSecurity = parts.portSecurity ?? null;
    this.addresses = parts.addresses ?? null;
    this.dhcp6 = parts.dhcp6 ?? null;
    this.effective = parts.effective ?? new EffectiveState(() => store.state, null);
  }

  /** The control plane's desired state (GetState): without the attachments made through CNI. */
  get state(): DesiredState {
    return this.store.state;
  }

  /** Runs `fn` under the lock every change of the desired state (control plane's or CNI's) takes. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  /** Replaces the whole desired state (Apply). */
  apply(next: DesiredState, dryRun: boolean): Promise<ChangeResult> {
    return this.change(() => next, undefined, dryRun);
  }

  /**
   * One change of the desired state: `edit` builds the next state from the stored one (or
   * throws to refuse); it is validated against the stored state, then stored and reconciled.
   */
  change(edit: (current: DesiredState) => DesiredState, expectedGeneration: number | undefined, dryRun: boolean): Promise<ChangeResult> {
    return this.mutex.run(async () => {
      const current = this.store.state;
      checkExpectedGeneration(current, expectedGeneration);
      const next = DesiredState.fromPartial(edit(current));
      refuseCniFields(next);
      // Judged with the CNI attachments, which stay whatever the control plane sends.
      const joined = this.effective.withPending(next);
      refuseOrphanedCniAttachments(next, joined);
      assertValidDesiredState(joined, this.effective.withPending(current));
      if (dryRun) {
        return { generation: current.generation, plan: describePlan(await this.reconciler.dryRun(joined)) };
      }
      await this.store.save(next);
      this.reconciler.allowTeardown();
      const pass = await this.reconciler.reconcile('apply');
      // The actions carried out, then everything that could not be done (plan problems and
      // failed actions), so the caller sees at once what is not converging and why.
      return { generation: next.generation, plan: describePlan({ actions: pass.plan.actions, problems: pass.problems }) };
    });
  }

  /** Conditions and status fields as of the last pass, with port security's drop counters read now. */
  async status(): Promise<GetStatusResponse> {
    const shared = this.reconciler.status(this.store.state.generation);
    if (!this.portSecurity || !shared.attachments.some((a) => a.portSecurity)) return shared;
    // The reconciler's answer is shared (and encoded once): the counters go into a copy.
    const status = { ...shared, attachments: shared.attachments.map((a) => ({ ...a })) };
    // Counters are a nicety; the conditions must reach the operator even when nft cannot list
    // (that may be exactly what the conditions report).
    const drops = await this.portSecurity.drops().catch(() => new Map<string, { spoof: number; ingress: number; egress: number }>());
    for (const a of status.attachments) {
      const d = drops.get(a.name);
      if (!a.portSecurity || !d) continue;
      a.portSecurity = { ...a.portSecurity, spoofDroppedPackets: d.spoof, ingressDroppedPackets: d.ingress, egressDroppedPackets: d.egress };
    }
    return status;
  }

  async ipUsage(network: string): Promise<NetworkIpUsage[]> {
    // One dump of addresses and one of neighbours, whatever the number of networks.
    const desired = this.effective.current();
    const leases = [...(this.dhcp?.leases(network) ?? []), ...(this.dhcp6?.leases(network) ?? []).map(asDhcpLease)];
    return ipUsageOf(desired, await this.dp.observe(['addresses', 'neighbours']), network, leases, this.addresses?.(desired) ?? null);
  }

  /** The leases of the running DHCP and DHCPv6 servers (of one network, or all), sorted by network and IP. */
  leases(network: string): Lease[] {
    const all = [...(this.dhcp?.leases(network) ?? []), ...(this.dhcp6?.leases(network) ?? []).map(asDhcpLease)];
    return all.map(toApiLease).sort((a, b) => (a.network === b.network ? ipKey(a.ip) - ipKey(b.ip) : a.network < b.network ? -1 : 1));
  }
}

const LEASE_STATES: Record<DhcpLease['state'], LeaseState> = {
  offered: LeaseState.LEASE_STATE_OFFERED,
  bound: LeaseState.LEASE_STATE_BOUND,
  released: LeaseState.LEASE_STATE_RELEASED,
  expired: LeaseState.LEASE_STATE_EXPIRED,
  declined: LeaseState.LEASE_STATE_DECLINED,
};

function toApiLease(l: DhcpLease): Lease {
  return {
    network: l.network, ip: l.ip, mac: l.mac, clientId: l.clientId ?? '', hostname: l.hostname ?? '',
    state: LEASE_STATES[l.state] ?? LeaseState.LEASE_STATE_UNSPECIFIED,
    expiresAt: new Date(l.expiresAt), updatedAt: new Date(l.updatedAt),
  };
}

function ipKey(ip: string): number {
  return Number(parseIp(ip)?.value ?? 0n);
}

/** A DHCPv6 lease in the DHCPv4 lease's shape (the API has one Lease; its client id is the DUID). */
function asDhcpLease(l: Lease6): DhcpLease {
  return { network: l.network, ip: l.ip, mac: l.mac ?? '', clientId: l.duid, state: l.state, expiresAt: l.expiresAt, updatedAt: l.updatedAt };
}

/** `cni` is the agent's to set (hostnet-cni's attachments); a control plane never sends it. */
function refuseCniFields(state: DesiredState): void {
  const violations = state.attachments.flatMap((a, i) => (a.cni ? [{
    path: `attachments[${i}].cni`, rule: 'cni-reserved', message: `attachment "${a.name}": cni is set by the agent for attachments made through hostnet-cni, never by a control plane`,
  }] : []));
  if (violations.length > 0) throw new ValidationError(violations);
}

/** A network that CNI attachments use cannot go (their containers would be left without one). */
function refuseOrphanedCniAttachments(controlPlane: DesiredState, joined: DesiredState): void {
  const networks = new Set(controlPlane.networks.map((n) => n.name));
  const orphans = joined.attachments.filter((a) => a.cni && !networks.has(a.network));
  const byNetwork = new Map<string, string[]>();
  for (const a of orphans) byNetwork.set(a.network, [...(byNetwork.get(a.network) ?? []), `${a.name} (container ${a.cni!.containerId})`]);
  const violations = [...byNetwork].map(([network, users]) => ({
    path: 'networks', rule: 'network-in-use-by-cni',
    message: `network "${network}" is still used by attachments made through hostnet-cni: ${users.join(', ')}; delete those pods first`,
  }));
  if (violations.length > 0) throw new ValidationError(violations);
}

/** The plan in words: actions, then what cannot be done. */
export function describePlan(plan: DryRun): string[] {
  return [
    ...plan.actions.map((a) => a.description),
    ...plan.problems.map((p) => `cannot ready ${p.resource.kind} ${p.resource.name}: ${p.condition} False, ${p.reason}: ${p.message}`),
  ];
}
