// Kubernetes-style conditions per resource, with lastTransitionTime kept across passes: it
// changes only when a condition's status changes (a new reason or message alone does not).
import type { Condition } from '../api/gen/hostnet/v1/status.js';
import type { ComputedCondition, ResourceKindName } from './condition.js';

export interface ConditionTransition {
  kind: ResourceKindName;
  name: string;
  condition: Condition;
}

const key = (kind: ResourceKindName, name: string): string => `${kind}/${name}`;

export class ConditionBook {
  private readonly byResource = new Map<string, Map<string, Condition>>();

  /** The current conditions of a resource, in the order they were computed. */
  get(kind: ResourceKindName, name: string): Condition[] {
    return [...(this.byResource.get(key(kind, name))?.values() ?? [])];
  }

  /**
   * Records this pass's conditions of one resource; returns those that changed status, reason
   * or message (the transitions WatchStatus streams).
   */
  update(kind: ResourceKindName, name: string, computed: readonly ComputedCondition[], generation: number, now: Date): ConditionTransition[] {
    const k = key(kind, name);
    const before = this.byResource.get(k) ?? new Map<string, Condition>();
    const after = new Map<string, Condition>();
    const changed: ConditionTransition[] = [];
    for (const c of computed) {
      const old = before.get(c.type);
      const statusChanged = !old || old.status !== c.status;
      const next: Condition = {
        ...c,
        lastTransitionTime: statusChanged || !old?.lastTransitionTime ? now : old.lastTransitionTime,
        observedGeneration: generation,
      };
      after.set(c.type, next);
      if (statusChanged || old.reason !== c.reason || old.message !== c.message) changed.push({ kind, name, condition: next });
    }
    this.byResource.set(k, after);
    return changed;
  }

  /** Forgets resources that are no longer desired. */
  retain(kind: ResourceKindName, names: ReadonlySet<string>): void {
    const prefix = `${kind}/`;
    for (const k of this.byResource.keys()) {
      if (k.startsWith(prefix) && !names.has(k.slice(prefix.length))) this.byResource.delete(k);
    }
  }
}
