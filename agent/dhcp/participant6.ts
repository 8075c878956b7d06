// The embedded DHCPv6 servers as a reconcile participant, after the kernel's links (a server
// binds to its bridge): plans starts, restarts, reconfigurations and stops (Dhcp6Host.pending),
// applies them with Dhcp6Host.sync, and reports each served network's Dhcpv6Serving condition.
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import { servesDhcp6 } from './config6.js';
import type { Dhcp6Host } from './host6.js';

export class Dhcp6Participant implements Participant {
  readonly name = 'dhcp6';

  constructor(private readonly host: Dhcp6Host) {}

  plan(ctx: PassContext): ParticipantPlan {
    const steps: PlannedStep[] = this.host.pending(ctx.desired, ctx.observed).map((c) => ({
      op: c.op, resource: { kind: 'network', name: c.network }, description: c.description,
    }));
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan, ctx: PassContext): Promise<ApplyOutcome> {
    try {
      await this.host.sync(ctx.desired, ctx.observed);
      return { applied: plan.steps.length, failures: [], kernelChanged: false };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { applied: 0, failures: plan.steps.map((step) => ({ step, error, problem: null })), kernelChanged: false };
    }
  }

  report(ctx: PassContext): ResourceReport[] {
    const out: ResourceReport[] = [];
    for (const n of ctx.desired.networks) {
      if (!servesDhcp6(n)) continue;
      const c = this.host.condition(n.name);
      if (c) out.push({ resource: { kind: 'network', name: n.name }, conditions: [c] });
    }
    return out;
  }

  close(): Promise<void> {
    return this.host.close();
  }
}
