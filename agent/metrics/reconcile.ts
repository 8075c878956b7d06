// Reconcile metrics: pass duration, actions applied by op, failures by op and reason, resyncs
// after lost kernel events (counted as passes and events happen), and networks and
// attachments by condition status (computed at scrape time from the reconciler's status).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GetStatusResponse } from '../api/gen/hostnet/v1/agent.js';
import { ConditionStatus } from '../api/gen/hostnet/v1/status.js';

/** What the metrics read of one pass (the Reconciler's PassResult has it). */
export interface PassFigures {
  durationMs: number;
  plan: { actions: ReadonlyArray<{ op: string }> };
  failures: ReadonlyArray<{ op: string; reason: string }>;
}

/** What the metrics need of the reconciler. */
export interface ReconcileMetricsSource {
  onPass(listener: (r: PassFigures) => void): () => void;
  onEventsLost(listener: (reason: string) => void): () => void;
  status(desiredGeneration: number): Pick<GetStatusResponse, 'generation' | 'observedGeneration' | 'networks' | 'attachments'>;
}

// Label values come from our own code (ops, reasons), but a failure reason could carry
// something unexpected: past this many distinct values, new ones are counted as "other".
const MAX_LABEL_VALUES = 64;

/** Keeps a label's value set bounded. */
export function boundedLabel(seen: Set<string>, value: string): string {
  if (seen.has(value)) return value;
  if (seen.size >= MAX_LABEL_VALUES) return 'other';
  seen.add(value);
  return value;
}

const STATUS_NAMES: ReadonlyArray<[ConditionStatus, string]> = [
  [ConditionStatus.CONDITION_STATUS_TRUE, 'True'],
  [ConditionStatus.CONDITION_STATUS_FALSE, 'False'],
  [ConditionStatus.CONDITION_STATUS_UNKNOWN, 'Unknown'],
];

function statusName(s: ConditionStatus): string {
  return STATUS_NAMES.find(([v]) => v === s)?.[1] ?? 'Unknown';
}

/** Registers the reconcile metrics; returns the function that unsubscribes from the reconciler. */
export function registerReconcileMetrics(registry: Registry, source: ReconcileMetricsSource, desiredGeneration: () => number): () => void {
  const registers = [registry];
  const duration = new Histogram({
    name: 'hostnet_reconcile_pass_duration_seconds',
    help: 'Duration of reconcile passes (observe, plan, apply, conditions).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const applied = new Counter({ name: 'hostnet_reconcile_actions_applied_total', help: 'Planned actions carried out successfully, by kind of action.', labelNames: ['op'], registers });
  const failed = new Counter({ name: 'hostnet_reconcile_action_failures_total', help: 'Planned actions that failed, by kind of action and reason.', labelNames: ['op', 'reason'], registers });
  const lost = new Counter({ name: 'hostnet_reconcile_kernel_event_overflows_total', help: 'Full resyncs because kernel events were lost (e.g. ENOBUFS on the event socket).', labelNames: ['reason'], registers });
  const ops = new Set<string>();
  const reasons = new Set<string>();
  const lostReasons = new Set<string>();

  const offPass = source.onPass((r) => {
    duration.observe(r.durationMs / 1000);
    const failedByOp = new Map<string, number>();
    for (const f of r.failures) {
      failedByOp.set(f.op, (failedByOp.get(f.op) ?? 0) + 1);
      failed.inc({ op: boundedLabel(ops, f.op), reason: boundedLabel(reasons, f.reason) });
    }
    const plannedByOp = new Map<string, number>();
    for (const a of r.plan.actions) plannedByOp.set(a.op, (plannedByOp.get(a.op) ?? 0) + 1);
    for (const [op, n] of plannedByOp) {
      const ok = n - (failedByOp.get(op) ?? 0);
      if (ok > 0) applied.inc({ op: boundedLabel(ops, op) }, ok);
    }
  });
  const offLost = source.onEventsLost((reason) => lost.inc({ reason: boundedLabel(lostReasons, reason) }));

  new Gauge({
    name: 'hostnet_resources',
    help: 'Networks and attachments by condition type and status (each resource counted once per condition type).',
    labelNames: ['kind', 'condition', 'status'],
    registers,
    collect() {
      this.reset();
      const s = source.status(desiredGeneration());
      const count = (kind: string, items: ReadonlyArray<{ conditions: ReadonlyArray<{ type: string; status: ConditionStatus }> }>): void => {
        const types = new Set(items.flatMap((i) => i.conditions.map((c) => c.type)));
        // Every status of every type present, so a series drops to 0 instead of vanishing.
        for (const condition of types) for (const [, status] of STATUS_NAMES) this.set({ kind, condition, status }, 0);
        for (const i of items) for (const c of i.conditions) this.inc({ kind, condition: c.type, status: statusName(c.status) });
      };
      count('network', s.networks);
      count('attachment', s.attachments);
    },
  });
  new Gauge({
    name: 'hostnet_desired_generation', help: 'Generation of the stored desired state.', registers,
    collect() {
      this.set(desiredGeneration());
    },
  });
  new Gauge({
    name: 'hostnet_observed_generation', help: 'Desired-state generation the last completed reconcile pass worked from.', registers,
    collect() {
      this.set(source.status(desiredGeneration()).observedGeneration);
    },
  });
  return () => {
    offPass();
    offLost();
  };
}
