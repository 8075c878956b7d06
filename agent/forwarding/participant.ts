// The one home of the RECORDED forwarding switches: the per-device switches hostnet turns on on
// devices it did not make, the bridges and external interfaces of routers (agent/routers/
// forwarding.ts) and the devices towards the BGP peers while a network is routed (agent/frr/
// peer-forwarding.ts). Those modules only say what they want (pure functions of the desired
// state, the links and the peer lookup); this participant gathers the wants each pass, reads the
// wanted keys (one in-process batch), turns on those at 0 (recorded first, in
// <state-dir>/forwarding.json: record.ts) and turns a recorded key back off only when NO owner
// wants it any more. A switch found on is left alone. Never the host-wide ip_forward.
// Not here: the switches of a routed network's own devices (forwarding, proxy_arp, IPv6
// forwarding...): hostnet makes those devices, so there is nothing to give back and nothing to
// record; the routed participant sets them.
// Order (agent/main.ts): right after the routers participant, so a switch comes on only after
// the routers' nft table is in place (isolation first); when the routers remove their table
// they first call turnOffUnwanted, so forwarding also goes off before the table goes.
import type { SysctlBatch } from '../../dataplane/sysctl.js';
import { condition, NODE_RESOURCE } from '../conditions/condition.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import { planForwarding, wantedKeys, type ForwardingOwner, type ForwardingWant } from './plan.js';
import type { ForwardingRecord } from './record.js';

/** What one owner needs now; may look things up (a throw is that owner's failure). */
export interface ForwardingProvider {
  readonly owner: ForwardingOwner;
  /** What the lookup is, in words, for the failure line, e.g. "find the devices towards the BGP peers". */
  readonly lookup: string;
  wants(ctx: PassContext): ForwardingWant[] | Promise<ForwardingWant[]>;
}

/** What the routers participant needs of this one: the order at table removal, and its condition. */
export interface ForwardingStatus {
  /** Turns off now what no owner wants (before the routers' table goes); throws when it cannot. */
  turnOffUnwanted(ctx: PassContext): Promise<void>;
  /** Why the switches `owner` wants could not be read, recorded or set; null when they could. */
  failure(owner: ForwardingOwner): string | null;
  /** Wanted keys this kernel lacks (force_forwarding before Linux 6.17). */
  missing(): ReadonlySet<string>;
}

type Step = PlannedStep & (
  | { readonly op: 'forwardingOn'; readonly keys: string[]; readonly owners: ForwardingOwner[] }
  | { readonly op: 'forwardingOff'; readonly keys: string[]; readonly forget: string[] });

export interface ForwardingOptions {
  sysctl: SysctlBatch;
  record: ForwardingRecord;
  providers: readonly ForwardingProvider[];
}

/** The node's condition for the forwarding towards the BGP peers (the fabric's way in to routed workloads). */
export const FABRIC_FORWARDING = 'FabricForwarding';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class ForwardingParticipant implements Participant<Step>, ForwardingStatus {
  readonly name = 'forwarding';
  readonly changesLinks = false;
  private errors = new Map<ForwardingOwner, string>();
  /** Owners whose wants could not be found this pass: a failure line each in apply. */
  private lookupErrors: Array<{ provider: ForwardingProvider; error: string }> = [];
  private missingKeys = new Set<string>();
  /** The devices the BGP peers are reached through, as this pass wanted them (sorted). */
  private peerDevices: string[] = [];

  constructor(private readonly o: ForwardingOptions) {}

  async plan(ctx: PassContext): Promise<ParticipantPlan<Step>> {
    const links = new Set(ctx.observed.links.map((l) => l.name));
    const wants: ForwardingWant[] = [];
    this.lookupErrors = [];
    for (const p of this.o.providers) {
      try {
        wants.push(...await p.wants(ctx));
      } catch (err) {
        this.lookupErrors.push({ provider: p, error: `${p.lookup}: ${message(err)}` });
      }
    }
    const everyone = this.o.providers.map((p) => p.owner);
    let record: Set<string>;
    let values: Map<string, string | null>;
    const wanted = wantedKeys(wants, links);
    this.peerDevices = [...new Set(wants.filter((w) => w.owner === 'bgp-peers' && links.has(w.device)).map((w) => w.device))].sort();
    try {
      record = await this.o.record.load();
      values = wanted.size > 0 ? await this.o.sysctl.read([...wanted.keys()]) : new Map();
    } catch (err) {
      // Unreadable record: nothing is turned back off (it is not known what hostnet turned on).
      this.errors = new Map(everyone.map((o) => [o, message(err)]));
      return { steps: [], problems: [] };
    }
    this.errors = new Map(this.lookupErrors.map((l) => [l.provider.owner, l.error]));
    // An owner whose wants are unknown may still want a recorded key: nothing goes off then.
    const p = planForwarding({ wanted, values, record, links, teardown: !ctx.holdTeardown && this.lookupErrors.length === 0 });
    this.missingKeys = new Set(p.missing);
    const steps: Step[] = [];
    if (p.forget.length > 0) {
      steps.push({ op: 'forwardingOff', keys: p.off, forget: p.forget, description: `turn forwarding back off (no router nor BGP peer needs it): ${p.off.join(', ') || 'devices gone'}` });
    }
    if (p.on.length > 0) {
      const owners = [...new Set(p.on.flatMap((k) => [...wanted.get(k)!]))].sort();
      steps.push({ op: 'forwardingOn', keys: p.on, owners, description: `turn on forwarding (${owners.join(', ')}): ${p.on.join(', ')}` });
    }
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan<Step>): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    for (const step of plan.steps) {
      try {
        await this.applyStep(step);
        outcome.applied++;
      } catch (err) {
        const error = `${step.description}: ${message(err)}`;
        const owners = step.op === 'forwardingOn' ? step.owners : this.o.providers.map((p) => p.owner);
        for (const o of owners) this.errors.set(o, message(err));
        outcome.failures.push({ step, problem: null, error });
      }
    }
    for (const l of this.lookupErrors) {
      outcome.failures.push({ step: { op: 'findForwardingWants', description: l.provider.lookup }, problem: null, error: l.error });
    }
    return outcome;
  }

  private async applyStep(step: Step): Promise<void> {
    const record = await this.o.record.load();
    if (step.op === 'forwardingOn') {
      // Recorded before the write: a crash in between leaves a key to turn off that may be off.
      await this.o.record.save(new Set([...record, ...step.keys]));
      await this.o.sysctl.write(step.keys.map((k) => [k, '1'] as const));
    } else {
      await this.o.sysctl.write(step.keys.map((k) => [k, '0'] as const));
      await this.o.record.save(new Set([...record].filter((k) => !step.forget.includes(k))));
    }
  }

  async turnOffUnwanted(ctx: PassContext): Promise<void> {
    const plan = await this.plan(ctx);
    for (const step of plan.steps) if (step.op === 'forwardingOff') await this.applyStep(step);
  }

  failure(owner: ForwardingOwner): string | null {
    return this.errors.get(owner) ?? null;
  }

  missing(): ReadonlySet<string> {
    return this.missingKeys;
  }

  /** The routers participant says what forwarding means for its networks (failure, missing). */
  /**
   * The node's FabricForwarding while the BGP peers want forwarding (a network is routed and
   * node.bgp is set): on which devices, or why not. The routers' wants are reported by the
   * routers participant, on their networks.
   */
  report(): ResourceReport[] {
    const error = this.failure('bgp-peers');
    if (error === null && this.peerDevices.length === 0) return [];
    const c = error !== null
      ? condition(FABRIC_FORWARDING, false, 'ForwardingFailed', `forwarding towards the BGP peers is not on: ${error}`)
      : condition(FABRIC_FORWARDING, true, 'Forwarding', `IPv4 forwarding on ${this.peerDevices.join(', ')}, towards the BGP peers`);
    return [{ resource: { kind: 'node', name: NODE_RESOURCE }, conditions: [c] }];
  }
}
