// The per-device forwarding switches the routers need, as wants for the forwarding participant
// (agent/forwarding, which reads, sets, records and gives back every recorded switch): IPv4
// forwarding on the bridges of connected networks and on the external interfaces, IPv6 too on
// bridges of networks with an IPv6 subnet (model.ts forwardingKeys). Pure: the desired state in,
// the keys out; a device not present yet is left out by the forwarding participant.
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import type { ForwardingProvider } from '../forwarding/participant.js';
import type { ForwardingWant } from '../forwarding/plan.js';
import { routersModel } from './model.js';

export function routerForwardingWants(desired: DesiredState): ForwardingWant[] {
  const out: ForwardingWant[] = [];
  for (const [device, keys] of routersModel(desired).forwarding) for (const key of keys) out.push({ key, device, owner: 'routers' });
  return out;
}

export const routerForwarding: ForwardingProvider = {
  owner: 'routers',
  lookup: 'find the devices the routers forward on',
  wants: (ctx) => routerForwardingWants(ctx.desired),
};
