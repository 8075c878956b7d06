// The embedded DHCP servers as a reconcile participant. It runs after the kernel's links and
// addresses (a server needs its bridge and its address), plans starts, restarts,
// reconfigurations and stops (DhcpHost.pending), applies them with DhcpHost.sync, and reports
// each DHCP network's DhcpServing condition.
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import { servesDhcp } from './config.js';
import type { DhcpHost } from './host.js';

export class DhcpParticipant implements Participant {
  readonly name = 'dhcp';

  constructor(private readonly host: DhcpHost) {}

  plan(ctx: PassContext): ParticipantPlan {
    const steps: PlannedStep[] = this.host.pending(ctx.desired, ctx.observed).map((c) => ({
      op: c.op, resource: { kind: 'network', name: c.network }, description: c.description,
    }));
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan, ctx: PassContext): Promise<ApplyOutcome> {
    // sync() also keeps each server's DhcpServing state (pool exhaustion) current, so it runs
    // on every pass; with nothing pending it opens no socket and writes no file.
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
      if (!servesDhcp(n)) continue;
      const c = this.host.condition(n.name);
      if (c) out.push({ resource: { kind: 'network', name: n.name }, conditions: [c] });
    }
    return out;
  }

  close(): Promise<void> {
    return this.host.close();
  }
}
