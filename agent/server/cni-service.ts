// The gRPC face of CniBackend (hostnet.v1.Cni): what hostnet-cni calls on the agent's socket.
import type { CniServer } from '../api/gen/hostnet/v1/cni.js';
import type { CniBackend } from '../cni/backend.js';
import type { ReconcileLogger } from '../reconcile/reconciler.js';
import { unary } from './service.js';

export function cniService(cni: CniBackend, log?: ReconcileLogger): CniServer {
  return {
    add: unary('Cni.Add', log, (req) => cni.add(req)),
    del: unary('Cni.Del', log, async (req) => ({ removed: await cni.del(req.ref) })),
    check: unary('Cni.Check', log, async (req) => ({ attachment: await cni.check(req.ref, req.netns) })),
    gc: unary('Cni.Gc', log, async (req) => ({ removed: await cni.gc(req.cniNetwork, req.valid) })),
    status: unary('Cni.Status', log, (req) => cni.status(req.network)),
  };
}
