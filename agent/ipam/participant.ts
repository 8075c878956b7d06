// Address management as a reconcile participant, first in every pass: it chooses the auto
// addresses the desired state asks for (keeping earlier choices, avoiding DHCP's leases) and
// stores them before any later participant hands one out: the firewall allows them, the
// workload participant puts them on veth peers, DHCP reserves them. It owns no condition: the
// workload participant reports each attachment's addresses (AddressesAssigned).
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import { assignAddresses, type AddressAssignments, type AutoChoices, type HeldLease } from './assignments.js';
import type { AutoChoiceStore } from './store.js';

export interface IpamOptions {
  /** Where choices are kept; null: in memory only (tests, tools). */
  store: AutoChoiceStore | null;
  /** The DHCP leases that hold their address on a network (bound or offered, not expired). */
  leases: (network: string) => readonly HeldLease[];
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

export interface IpamStep extends PlannedStep {
  readonly choices: AutoChoices;
}

function diff(before: AutoChoices, after: AutoChoices): Array<{ op: 'chooseAddress' | 'releaseAddress'; network: string; attachment: string; ip: string }> {
  const out: Array<{ op: 'chooseAddress' | 'releaseAddress'; network: string; attachment: string; ip: string }> = [];
  const nets = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const network of nets) {
    const b = before[network] ?? {};
    const a = after[network] ?? {};
    for (const attachment of new Set([...Object.keys(b), ...Object.keys(a)])) {
      const was = b[attachment] ?? [];
      const now = a[attachment] ?? [];
      for (const ip of now) if (!was.includes(ip)) out.push({ op: 'chooseAddress', network, attachment, ip });
      for (const ip of was) if (!now.includes(ip)) out.push({ op: 'releaseAddress', network, attachment, ip });
    }
  }
  return out;
}

export class IpamParticipant implements Participant<IpamStep> {
  readonly name = 'ipam';
  private stored: AutoChoices = {};
  private readonly loaded: Promise<void>;
  private memo: { desired: DesiredState; assignments: AddressAssignments } | null = null;

  constructor(private readonly options: IpamOptions) {
    this.loaded = this.load();
  }

  private async load(): Promise<void> {
    if (!this.options.store) return;
    const r = await this.options.store.load();
    if (r.problem) this.options.warn?.(r.problem, {});
    this.stored = r.choices;
  }

  /** Resolves once the stored choices are read (before the first pass plans). */
  ready(): Promise<void> {
    return this.loaded;
  }

  /**
   * Every attachment's addresses for `desired`: computed once per desired state and pass (the
   * pass's plan computes them anew, since leases move), shared by every reader.
   */
  assignmentsFor(desired: DesiredState): AddressAssignments {
    if (this.memo?.desired === desired) return this.memo.assignments;
    const assignments = assignAddresses(desired, this.stored, this.options.leases);
    this.memo = { desired, assignments };
    return assignments;
  }

  async plan(ctx: PassContext): Promise<ParticipantPlan<IpamStep>> {
    await this.loaded;
    this.memo = null;
    const assignments = this.assignmentsFor(ctx.desired);
    // While the stored state is unreadable nothing is released: the choices of attachments
    // missing from this (empty) state stay theirs.
    const choices = ctx.holdTeardown ? { ...this.stored, ...assignments.choices } : assignments.choices;
    const changes = diff(this.stored, choices);
    const steps: IpamStep[] = changes.map((c) => ({
      op: c.op, resource: { kind: 'attachment' as const, name: c.attachment }, choices,
      description: c.op === 'chooseAddress'
        ? `choose ${c.ip} on network ${c.network} for attachment ${c.attachment} (auto)`
        : `release ${c.ip} on network ${c.network} of attachment ${c.attachment}`,
    }));
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan<IpamStep>): Promise<ApplyOutcome> {
    const choices = plan.steps[0]?.choices;
    if (!choices) return { applied: 0, failures: [], kernelChanged: false };
    try {
      await this.options.store?.save(choices);
      this.stored = choices;
      return { applied: plan.steps.length, failures: [], kernelChanged: false };
    } catch (err) {
      const error = `store auto addresses: ${err instanceof Error ? err.message : String(err)}`;
      // Not stored, not handed out: the attachments asking keep no address this pass.
      const holds = plan.steps.filter((s) => s.op === 'chooseAddress').map((s) => ({
        resource: s.resource!, condition: 'AddressesAssigned', reason: 'NotStored', message: error,
      }));
      this.memo = null;
      return { applied: 0, failures: plan.steps.map((step) => ({ step, error, problem: null })), holds, kernelChanged: false };
    }
  }

  report(): ResourceReport[] {
    return [];
  }
}
