// Carries out one planned action through the Dataplane. Kept apart from planning so the plan
// stays pure and testable, and from the reconciler so the mapping is in one place.
import type { Dataplane } from '../../dataplane/types.js';
import type { PlanAction } from '../reconcile/plan.js';

/** A step in the workload's namespace: applied in batches per namespace (Dataplane.setLinksIn). */
export type PeerAction = Extract<PlanAction, { op: 'setPeerLink' }>;
/** Everything else: one Dataplane call each, in this namespace. */
export type LocalAction = Exclude<PlanAction, PeerAction>;

export async function applyAction(dp: Dataplane, a: LocalAction): Promise<void> {
  switch (a.op) {
    case 'deleteLinkGroup':
      return dp.deleteLinkGroup(a.group);
    case 'deleteLink':
      return dp.deleteLink(a.name);
    case 'ensureBridge':
      await dp.ensureBridge(a.spec);
      return;
    case 'ensureVlan':
      await dp.ensureVlan(a.spec);
      return;
    case 'ensureVxlan':
      await dp.ensureVxlan(a.spec);
      return;
    case 'ensureVeth':
      await dp.ensureVeth(a.spec);
      return;
    case 'ensureTap':
      return dp.putTap(a.spec);
    case 'setLink':
      return dp.setLink(a.attrs);
    case 'addAddress':
      return dp.addAddress(a.spec);
    case 'deleteAddress':
      return dp.deleteAddress(a.spec);
  }
}

/** The device an action is about (for logs and to tell a bridge failure from an uplink one). */
export function actionDevice(a: PlanAction): string {
  switch (a.op) {
    case 'deleteLinkGroup':
      return `group ${a.group}`;
    case 'deleteLink':
      return a.name;
    case 'setLink':
    case 'setPeerLink':
      return a.attrs.name;
    case 'addAddress':
    case 'deleteAddress':
      return a.spec.dev;
    default:
      return a.spec.name;
  }
}
