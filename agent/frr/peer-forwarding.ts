// IPv4 forwarding on the interfaces the BGP peers are reached through ("bgp-forwarding"), while
// the desired state has node.bgp and a routed network: a packet from the fabric to a routed
// workload enters the host there, and Linux forwards IPv4 by the switch of the device a packet
// comes IN by (the routed participant turns it on only on the routed devices). The device of
// each peer is what `ip route get <peer>` says, read again on full passes (SIGHUP, the periodic
// resync) and whenever the peers change. As with the routers (agent/routers/forwarding.ts): only
// the per-device switch, never ip_forward; a switch found on is left alone, one hostnet turned
// on is recorded in <state-dir>/bgp-forwarding.json and turned back off when no longer needed
// (also after an agent restart).
import { execa } from 'execa';
import { commandIn } from '../../dataplane/netns-path.js';
import type { SysctlBatch } from '../../dataplane/sysctl.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import type { ForwardingRecord } from '../routers/forwarding.js';

type Step = PlannedStep & ({ readonly op: 'forwardingOn'; readonly keys: string[] } | { readonly op: 'forwardingOff'; readonly keys: string[]; readonly forget: string[] });

export interface PeerForwardingOptions {
  sysctl: SysctlBatch;
  record: ForwardingRecord;
  /** The device a packet to `address` leaves by (`ip route get`), null when there is no route. */
  deviceTo: (address: string) => Promise<string | null>;
}

/** `ip -j route get <address>` in `netns`: its first route's device. */
export function routeDeviceIn(netns: string | null): (address: string) => Promise<string | null> {
  return async (address) => {
    const c = commandIn(netns, 'ip', ['-j', 'route', 'get', address]);
    const r = await execa(c.file, c.args, { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) {
      // "Network is unreachable": no device to forward on (yet). Anything else is a failure.
      if (/unreachable/i.test(r.stderr)) return null;
      throw new Error(`ip route get ${address} in ${netns ?? 'own namespace'}: exit ${r.exitCode}: ${r.stderr.trim()}`);
    }
    const routes = JSON.parse(r.stdout || '[]') as Array<{ dev?: string }>;
    return routes[0]?.dev ?? null;
  };
}

/** The peers whose devices must forward: those of node.bgp while a network is routed. */
export function forwardingPeers(desired: DesiredState): string[] {
  const bgp = desired.node?.bgp;
  if (!bgp || !desired.networks.some(isRouted)) return [];
  return [...new Set(bgp.peers.map((p) => p.address).filter((a) => a !== ''))].sort();
}

const keyOf = (dev: string): string => `net/ipv4/conf/${dev}/forwarding`;

export class PeerForwardingParticipant implements Participant<Step> {
  readonly name = 'bgp-forwarding';
  /** Peer -> device, as last looked up, and for which peers. */
  private devices = new Map<string, string | null>();
  private lookedUpFor = '';
  private error: string | null = null;

  constructor(private readonly o: PeerForwardingOptions) {}

  async plan(ctx: PassContext): Promise<ParticipantPlan<Step>> {
    const peers = forwardingPeers(ctx.desired);
    const steps: Step[] = [];
    try {
      if (ctx.refresh || peers.join(',') !== this.lookedUpFor) {
        const found = await Promise.all(peers.map(async (p) => [p, await this.o.deviceTo(p)] as const));
        this.devices = new Map(found);
        this.lookedUpFor = peers.join(',');
      }
      const links = new Set(ctx.observed.links.map((l) => l.name));
      const wanted = [...new Set([...this.devices.values()].filter((d): d is string => d !== null && links.has(d)))].sort().map(keyOf);
      const record = await this.o.record.load();
      if (wanted.length > 0) {
        // Read every pass (a few files, in this process): another owner of the same switch
        // (a router's external interface, ip_forward toggled) may have turned it off.
        const values = await this.o.sysctl.read(wanted);
        const off = [...values].filter(([, v]) => v === '0').map(([k]) => k);
        if (off.length > 0) steps.push({ op: 'forwardingOn', keys: off, description: `turn on forwarding towards the BGP peers: ${off.join(', ')}` });
      }
      if (!ctx.holdTeardown) {
        const stale = [...record].filter((k) => !wanted.includes(k));
        if (stale.length > 0) {
          const present = stale.filter((k) => links.has(k.split('/')[3] ?? ''));
          steps.push({ op: 'forwardingOff', keys: present, forget: stale, description: `turn forwarding back off (no BGP peer of a routed network behind it): ${present.join(', ') || 'devices gone'}` });
        }
      }
      this.error = null;
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
      this.lookedUpFor = '';
    }
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan<Step>): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    for (const step of plan.steps) {
      try {
        const record = await this.o.record.load();
        if (step.op === 'forwardingOn') {
          // Recorded before the write: a crash in between leaves a key to turn off that may be off.
          await this.o.record.save(new Set([...record, ...step.keys]));
          await this.o.sysctl.write(step.keys.map((k) => [k, '1'] as const));
        } else {
          await this.o.sysctl.write(step.keys.map((k) => [k, '0'] as const));
          await this.o.record.save(new Set([...record].filter((k) => !step.forget.includes(k))));
        }
        outcome.applied++;
      } catch (err) {
        outcome.failures.push({ step, problem: null, error: `${step.description}: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    if (this.error) outcome.failures.push({ step: { op: 'findPeerDevices', description: 'find the devices towards the BGP peers' }, problem: null, error: this.error });
    return outcome;
  }

  report(): ResourceReport[] {
    return [];
  }
}
