// The kernel participant's conditions, from the kernel as a pass left it and what could not be
// done: networks get BridgeReady and UplinkReady, attachments Configured and Negotiated (Ready
// is the reconciler's: the conjunction of every participant's conditions).
import type { Link } from '../../dataplane/types.js';
import type { Attachment, Network } from '../api/gen/hostnet/v1/resources.js';
import { condition as cond, type ComputedCondition } from '../conditions/condition.js';
import { isRouted } from '../desired/routed.js';
import { bridgeNameOf, ifNameOf, macOf, uplinkDeviceOf } from '../naming.js';
import type { Problem } from '../reconcile/participant.js';

export interface NetworkFacts {
  bridgeName: string;
  bridgeIfindex: number;
  conditions: ComputedCondition[];
}

export interface AttachmentFacts {
  network: string;
  ifName: string;
  ifindex: number;
  mac: string;
  conditions: ComputedCondition[];
}

/** Problems by resource and condition, looked up once per resource (not a scan per resource). */
export class ProblemIndex {
  private readonly byKey = new Map<string, Problem>();

  constructor(problems: readonly Problem[]) {
    for (const p of problems) {
      const k = `${p.resource.kind}/${p.resource.name}/${p.condition}`;
      if (!this.byKey.has(k)) this.byKey.set(k, p);
    }
  }

  get(kind: 'network' | 'attachment', name: string, condition: string): Problem | undefined {
    return this.byKey.get(`${kind}/${name}/${condition}`);
  }
}

export function networkFacts(n: Network, links: ReadonlyMap<string, Link>, problems: ProblemIndex): NetworkFacts {
  if (isRouted(n)) {
    // No bridge and no uplink: the network is its attachments' devices (their own conditions).
    return { bridgeName: '', bridgeIfindex: 0, conditions: [cond('BridgeReady', true, 'Routed', 'a routed network has no bridge')] };
  }
  const bridgeName = bridgeNameOf(n);
  const bridge = links.get(bridgeName);
  const bridgeProblem = problems.get('network', n.name, 'BridgeReady');
  let bridgeReady: ComputedCondition;
  if (bridgeProblem) bridgeReady = cond('BridgeReady', false, bridgeProblem.reason, bridgeProblem.message);
  else if (!bridge || bridge.kind !== 'bridge') bridgeReady = cond('BridgeReady', false, 'BridgeMissing', `bridge "${bridgeName}" does not exist`);
  else if (!bridge.up) bridgeReady = cond('BridgeReady', false, 'BridgeDown', `bridge "${bridgeName}" is down`);
  else bridgeReady = cond('BridgeReady', true, 'BridgeUp', `bridge "${bridgeName}" is up`);

  const uplinkProblem = problems.get('network', n.name, 'UplinkReady');
  const up = uplinkDeviceOf(n);
  let uplinkReady: ComputedCondition;
  if (uplinkProblem) uplinkReady = cond('UplinkReady', false, uplinkProblem.reason, uplinkProblem.message);
  else if (!up) uplinkReady = cond('UplinkReady', true, 'NoUplink', 'an isolated bridge: no uplink desired');
  else {
    const dev = links.get(up.name);
    if (!dev) uplinkReady = cond('UplinkReady', false, 'UplinkMissing', `uplink "${up.name}" does not exist`);
    else if (!bridge || dev.masterIndex !== bridge.index) uplinkReady = cond('UplinkReady', false, 'NotEnslaved', `uplink "${up.name}" is not a port of "${bridgeName}"`);
    else if (!dev.up) uplinkReady = cond('UplinkReady', false, 'UplinkDown', `uplink "${up.name}" is down`);
    else uplinkReady = cond('UplinkReady', true, 'Enslaved', `${up.kind} uplink "${up.name}" is a port of "${bridgeName}"`);
  }
  return { bridgeName, bridgeIfindex: bridge?.index ?? 0, conditions: [bridgeReady, uplinkReady] };
}

export function attachmentFacts(a: Attachment, network: Network | undefined, links: ReadonlyMap<string, Link>, problems: ProblemIndex): AttachmentFacts {
  const ifName = ifNameOf(a);
  const dev = links.get(ifName);
  const bridge = network ? links.get(bridgeNameOf(network)) : undefined;
  const problem = problems.get('attachment', a.name, 'Configured');
  const routed = network !== undefined && isRouted(network);
  let configured: ComputedCondition;
  if (problem) configured = cond('Configured', false, problem.reason, problem.message);
  else if (!dev) configured = cond('Configured', false, 'DeviceMissing', `"${ifName}" does not exist`);
  else if (routed && !dev.up) configured = cond('Configured', false, 'DeviceDown', `"${ifName}" is down`);
  else if (routed) configured = cond('Configured', true, 'Configured', `"${ifName}" is the workload's routed link`);
  else if (!bridge || dev.masterIndex !== bridge.index) configured = cond('Configured', false, 'NotEnslaved', `"${ifName}" is not a port of the network's bridge`);
  else if (!dev.up) configured = cond('Configured', false, 'DeviceDown', `"${ifName}" is down`);
  else configured = cond('Configured', true, 'Configured', `"${ifName}" is a port of "${bridge.name}"`);

  let negotiated: ComputedCondition;
  const holder = a.kind?.$case === 'tap' ? 'no process holds the TAP open' : 'the peer end is down';
  if (!dev) negotiated = cond('Negotiated', false, 'DeviceMissing', `"${ifName}" does not exist`);
  else if (dev.lowerUp) negotiated = cond('Negotiated', true, 'CarrierUp', 'carrier is up');
  else negotiated = cond('Negotiated', false, 'NoCarrier', `no carrier: ${holder}`);

  return {
    network: a.network, ifName, ifindex: dev?.index ?? 0, mac: macOf(a),
    conditions: [configured, negotiated],
  };
}
