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
    const before = this.byResource.get(k);
    // The common case (a pass that changed nothing for this resource): same types in the same
    // order, same status, reason and message: no transition, and no allocation unless the
    // generation moved (conditions handed out earlier are never mutated).
    if (before && before.size === computed.length && unchanged(before, computed)) {
      const first = before.values().next().value;
      if (first && first.observedGeneration !== generation) {
        this.byResource.set(k, new Map([...before].map(([t, c]) => [t, { ...c, observedGeneration: generation }])));
      }
      return [];
    }
    const after = new Map<string, Condition>();
    const changed: ConditionTransition[] = [];
    for (const c of computed) {
      const old = before?.get(c.type);
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

function unchanged(before: ReadonlyMap<string, Condition>, computed: readonly ComputedCondition[]): boolean {
  let i = 0;
  for (const [type, old] of before) {
    const c = computed[i++]!;
    if (c.type !== type || c.status !== old.status || c.reason !== old.reason || c.message !== old.message) return false;
  }
  return true;
}
