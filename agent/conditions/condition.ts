// The condition vocabulary every participant speaks: a condition as computed in one pass
// (before its transition time is known), the status constants, and how Ready is derived.
import { ConditionStatus, ResourceKind } from '../api/gen/hostnet/v1/status.js';

export type ResourceKindName = 'network' | 'attachment' | 'node';

/** The one node resource's name (its conditions exist while node settings ask for something, e.g. BGP). */
export const NODE_RESOURCE = 'node';

/** A resource of the desired state that conditions are reported for. */
export interface ResourceRef {
  kind: ResourceKindName;
  name: string;
}

export interface ComputedCondition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export const T = ConditionStatus.CONDITION_STATUS_TRUE;
export const F = ConditionStatus.CONDITION_STATUS_FALSE;
export const U = ConditionStatus.CONDITION_STATUS_UNKNOWN;

export function resourceKindOf(kind: ResourceKindName): ResourceKind {
  if (kind === 'node') return ResourceKind.RESOURCE_KIND_NODE;
  return kind === 'network' ? ResourceKind.RESOURCE_KIND_NETWORK : ResourceKind.RESOURCE_KIND_ATTACHMENT;
}

export const condition = (type: string, ok: boolean, reason: string, message: string): ComputedCondition =>
  ({ type, status: ok ? T : F, reason, message });

/** Ready is the conjunction of the others; its message names the first that is not True. */
export function readyOf(parts: readonly ComputedCondition[]): ComputedCondition {
  const bad = parts.find((p) => p.status !== T);
  return bad ? condition('Ready', false, bad.reason, `${bad.type}: ${bad.message}`) : condition('Ready', true, 'Ready', '');
}
