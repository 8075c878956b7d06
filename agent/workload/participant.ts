// Addresses inside workloads as a reconcile participant, after the kernel's links: a veth
// attachment's static and auto addresses go on its peer in the workload's namespace, with the
// default route via the gateway and the network's static routes (peer-plan.ts). Reading a
// namespace means entering it, so what each peer holds is remembered per attachment and read
// again only when something it depends on changed (the namespace, the pair, what is wanted) or
// on a refresh pass (periodic resync, SIGHUP), which is when drift inside a pod is repaired.
// It also reports every attachment's addresses (AddressesAssigned and the status fields).
import { netnsPath } from '../../dataplane/netns-path.js';
import type { Dataplane, Link } from '../../dataplane/types.js';
import type { Attachment, DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { AddressSource } from '../api/gen/hostnet/v1/status.js';
import { condition, type ComputedCondition } from '../conditions/condition.js';
import type { AddressAssignments } from '../ipam/assignments.js';
import { netnsState } from '../kernel/netns-state.js';
import { networkMtu } from '../desired/mtu.js';
import { subnetsOf } from '../desired/subnets.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, Problem, ResourceReport } from '../reconcile/participant.js';
import { describePeerChange, peerPrefixLength, peerWanted, planPeer, type PeerChange, type PeerWanted } from './peer-plan.js';
import { isRouted } from '../desired/routed.js';
import type { Address } from '../../dataplane/types.js';

export interface WorkloadOptions {
  assignments: (desired: DesiredState) => AddressAssignments;
  /** A handle in a workload's namespace, closed by the caller once done (nothing may stay open there). */
  openIn: (netns: string) => Promise<Dataplane>;
  /** Writes a sysctl (slash-separated path under /proc/sys) inside a workload's namespace. */
  setSysctl: (netns: string, path: readonly string[], value: string) => Promise<void>;
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

export interface WorkloadStep extends PlannedStep {
  readonly netns: string;
  readonly change: PeerChange;
}

/** What one peer held when last read (or made to hold), and for which inputs. */
interface PeerRecord {
  key: string;
  /** Problem when it could not be read or changed; null when it carries what is wanted. */
  problem: { reason: string; message: string } | null;
  /** Wanted addresses that are on the peer. */
  assigned: Set<string>;
}

/** Namespaces entered at once. */
const PARALLEL = 16;
const CONDITION = 'AddressesAssigned';

export class WorkloadAddressesParticipant implements Participant<WorkloadStep> {
  readonly name = 'workload';
  private records = new Map<string, PeerRecord>();
  /** Namespace reads so far (tests, benchmarks). */
  reads = 0;

  constructor(private readonly options: WorkloadOptions) {}

  async plan(ctx: PassContext): Promise<ParticipantPlan<WorkloadStep>> {
    const assignments = this.options.assignments(ctx.desired);
    const networks = new Map(ctx.desired.networks.map((n) => [n.name, n]));
    const links = new Map<string, Link>();
    for (const l of ctx.observed.links) if (l.kind === 'veth') links.set(l.name, l);
    const next = new Map<string, PeerRecord>();
    const toRead: Array<{ a: Attachment; netns: string; key: string; host: Link; wanted: PeerWanted }> = [];
    for (const a of ctx.desired.attachments) {
      if (a.kind?.$case !== 'veth' || !a.kind.veth.peerNetns || ctx.held.has(`attachment/${a.name}`)) continue;
      const addressing = assignments.of(a.name);
      const network = networks.get(a.network);
      const host = links.get(a.kind.veth.ifName);
      const router6 = network && isRouted(network) && host ? linkLocalOf(host.index, ctx.observed.addresses) : null;
      const wanted = peerWanted(addressing, network, router6);
      const ns = netnsState(netnsPath(a.kind.veth.peerNetns));
      // Nothing wanted and nothing recorded: no reason to look inside (a workload that
      // configures itself, or one hostnet never configured).
      if (wanted.addresses.length === 0 && !this.records.has(a.name)) continue;
      if (!host || !ns.present) {
        if (wanted.addresses.length > 0) next.set(a.name, { key: '', problem: { reason: 'PeerMissing', message: `the workload's interface ${a.kind.veth.peerIfName} does not exist yet` }, assigned: new Set() });
        continue;
      }
      const key = `${ns.ino}|${host.index}|${host.linkIndex}|${host.linkNetnsId}|${a.kind.veth.peerIfName}|${JSON.stringify(wanted)}`;
      const known = this.records.get(a.name);
      if (known && known.key === key && !known.problem && !ctx.refresh) {
        next.set(a.name, known);
        continue;
      }
      toRead.push({ a, netns: a.kind.veth.peerNetns, key, host, wanted });
    }
    const steps: WorkloadStep[] = [];
    let taken = 0;
    const worker = async (): Promise<void> => {
      while (taken < toRead.length) {
        const { a, netns, key, host, wanted } = toRead[taken++]!;
        const v = a.kind?.$case === 'veth' ? a.kind.veth : null;
        if (!v) continue;
        try {
          this.reads++;
          const dp = await this.options.openIn(netns);
          try {
            const peer = await dp.getLink(v.peerIfName);
            if (!peer) {
              next.set(a.name, { key: '', problem: { reason: 'PeerMissing', message: `"${v.peerIfName}" does not exist in ${netns}` }, assigned: new Set() });
              continue;
            }
            // The name alone proves nothing: only the host end's own peer is hostnet's to address.
            if (host.linkIndex !== null && peer.index !== host.linkIndex) {
              next.set(a.name, { key: '', problem: { reason: 'PeerMismatch', message: `"${v.peerIfName}" in ${netns} is not the peer of "${v.ifName}" (ifindex ${peer.index}, the peer is ${host.linkIndex}): left alone` }, assigned: new Set() });
              continue;
            }
            const state = await dp.observe(['addresses', 'routes']);
            const changes = planPeer(v.peerIfName, wanted, state.addresses, state.routes);
            const present = new Set(state.addresses.filter((x) => x.dev === v.peerIfName).map((x) => x.cidr));
            next.set(a.name, { key, problem: null, assigned: new Set(wanted.addresses.filter((c) => present.has(c))) });
            for (const change of changes) {
              steps.push({
                op: `${change.op}InWorkload`, resource: { kind: 'attachment', name: a.name }, netns, change,
                description: `${describePeerChange(change)} on ${v.peerIfName} in ${netns} for attachment ${a.name}`,
              });
            }
          } finally {
            await dp.close();
          }
        } catch (err) {
          next.set(a.name, { key: '', problem: { reason: 'WorkloadUnreadable', message: `read ${v.peerIfName} in ${netns}: ${errText(err)}` }, assigned: new Set() });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, toRead.length) }, worker));
    this.records = next;
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan<WorkloadStep>): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    const byNetns = new Map<string, WorkloadStep[]>();
    for (const s of plan.steps) byNetns.set(s.netns, [...(byNetns.get(s.netns) ?? []), s]);
    const jobs = [...byNetns];
    let taken = 0;
    const worker = async (): Promise<void> => {
      while (taken < jobs.length) {
        const [netns, steps] = jobs[taken++]!;
        let dp: Dataplane | null = null;
        try {
          dp = await this.options.openIn(netns);
          await this.keepSecondaries(netns, steps);
          for (const step of steps) {
            const rec = this.records.get(step.resource!.name);
            if (rec?.problem) continue; // an earlier change of this attachment failed
            try {
              await apply(dp, step.change);
              outcome.applied++;
              if (rec && step.change.op === 'addAddress') rec.assigned.add(step.change.spec.cidr);
            } catch (err) {
              const error = errText(err);
              if (rec) rec.problem = { reason: 'ApplyFailed', message: `${describePeerChange(step.change)} in ${netns}: ${error}` };
              outcome.failures.push({ step, error, problem: null });
            }
          }
        } catch (err) {
          const error = errText(err);
          for (const step of steps) {
            const rec = this.records.get(step.resource!.name);
            if (rec) rec.problem = { reason: 'WorkloadUnreadable', message: `enter ${netns}: ${error}` };
            outcome.failures.push({ step, error, problem: null });
          }
        } finally {
          await dp?.close();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, jobs.length) }, worker));
    return outcome;
  }

  /**
   * Removing a primary IPv4 address takes every secondary of its subnet with it, the workload's
   * own included, unless the device promotes secondaries: turned on before hostnet removes one.
   */
  private async keepSecondaries(netns: string, steps: readonly WorkloadStep[]): Promise<void> {
    const devices = new Set(steps.flatMap((s) => (s.change.op === 'deleteAddress' && !s.change.spec.cidr.includes(':') ? [s.change.spec.dev] : [])));
    for (const dev of devices) await this.options.setSysctl(netns, ['net', 'ipv4', 'conf', dev, 'promote_secondaries'], '1');
  }

  report(ctx: PassContext, problems: readonly Problem[]): ResourceReport[] {
    void problems; // failures are kept in the records (per attachment, with the namespace named)
    const assignments = this.options.assignments(ctx.desired);
    const networks = new Map(ctx.desired.networks.map((n) => [n.name, n]));
    const out: ResourceReport[] = [];
    for (const a of ctx.desired.attachments) {
      const n = networks.get(a.network);
      const addressing = assignments.of(a.name);
      const rec = this.records.get(a.name);
      const veth = a.kind?.$case === 'veth' ? a.kind.veth : null;
      const conditions: ComputedCondition[] = [];
      const addresses = (addressing?.addresses ?? []).map((x) => {
        // What the workload holds: a routed network's IPv6 address is a /128 (peer-plan.ts).
        const prefixLength = peerPrefixLength(n, x.family, x.prefixLength);
        return {
          ip: x.ip, prefixLength, network: x.network,
          source: x.source === 'static' ? AddressSource.ADDRESS_SOURCE_STATIC : AddressSource.ADDRESS_SOURCE_AUTO,
          assigned: !!rec?.assigned.has(`${x.ip}/${prefixLength}`),
        };
      });
      if (addressing) conditions.push(addressesCondition(a, addressing.missing, addressing.assign, rec, addresses.map((x) => `${x.ip}/${x.prefixLength}`)));
      out.push({
        resource: { kind: 'attachment', name: a.name },
        conditions,
        attachment: {
          addresses, ip: addresses[0]?.ip ?? '',
          gateway: n?.gateway ?? '',
          routes: (n ? subnetsOf(n) : []).flatMap((sub) => (sub.dhcp?.routes ?? []).map((r) => ({ destination: r.destination, via: r.via }))),
          vlanId: n?.uplink?.kind?.$case === 'vlan' ? n.uplink.kind.vlan.id : 0,
          workloadIfName: veth?.peerIfName ?? '',
          containerId: a.cni?.containerId ?? '',
          mtu: a.mtu ?? (n ? networkMtu(n, ctx.observed) : 0),
        },
      });
    }
    return out;
  }
}

function addressesCondition(a: Attachment, missing: number, assign: boolean, rec: PeerRecord | undefined, cidrs: string[]): ComputedCondition {
  if (missing > 0) return condition(CONDITION, false, 'NoFreeAddress', `no free address in network "${a.network}"'s pools for ${missing} auto address(es)`);
  const list = cidrs.join(', ');
  if (!assign) {
    const why = a.kind?.$case === 'tap' ? 'served to the guest by DHCP' : 'reserved; the workload configures them (skipAssignment)';
    return condition(CONDITION, true, 'Reserved', `${list}: ${why}`);
  }
  if (!rec) return condition(CONDITION, false, 'Pending', `${list}: not yet configured in the workload`);
  if (rec.problem) return condition(CONDITION, false, rec.problem.reason, rec.problem.message);
  const absent = cidrs.filter((c) => !rec.assigned.has(c));
  if (absent.length > 0) return condition(CONDITION, false, 'Pending', `${absent.join(', ')} not yet on the workload's interface`);
  return condition(CONDITION, true, 'Assigned', `${list} on the workload's interface`);
}

async function apply(dp: Dataplane, c: PeerChange): Promise<void> {
  switch (c.op) {
    case 'addAddress': return dp.addAddress(c.spec);
    case 'deleteAddress': return dp.deleteAddress(c.spec);
    case 'addRoute': return dp.addRoute(c.spec);
    case 'deleteRoute': return dp.deleteRoute(c.spec);
  }
}

/** IFA_F_TENTATIVE and IFA_F_DADFAILED: not usable as a source (or a router) yet. */
const UNUSABLE = 0x40 | 0x08;

/** A device's usable IPv6 link-local address (the kernel's, made when it came up with carrier), if any. */
function linkLocalOf(index: number, addresses: readonly Address[]): string | null {
  const a = addresses.find((x) => x.index === index && x.family === 6 && x.cidr.toLowerCase().startsWith('fe80:') && (x.flags & UNUSABLE) === 0);
  return a ? a.cidr.split('/')[0]! : null;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

