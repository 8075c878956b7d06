// Conditions from what one pass saw: the desired state, the kernel after the pass, and what
// could not be done (plan problems and failed actions, both as PlanProblems).
import type { Link, ObservedState } from '../../dataplane/types.js';
import type { Attachment, DesiredState, Network } from '../api/gen/hostnet/v1/resources.js';
import { bridgeNameOf, ifNameOf, macOf, uplinkDeviceOf } from '../naming.js';
import { F, T, type ComputedCondition } from './conditions.js';
import type { PlanProblem } from './plan.js';

export interface NetworkFacts {
  name: string;
  bridgeName: string;
  bridgeIfindex: number;
  conditions: ComputedCondition[];
}

export interface AttachmentFacts {
  name: string;
  network: string;
  ifName: string;
  ifindex: number;
  mac: string;
  ip: string;
  conditions: ComputedCondition[];
}

const cond = (type: string, ok: boolean, reason: string, message: string): ComputedCondition =>
  ({ type, status: ok ? T : F, reason, message });

/** Ready is the conjunction of the others; its message names the first that is not True. */
function ready(parts: ComputedCondition[]): ComputedCondition {
  const bad = parts.find((p) => p.status !== T);
  return bad ? cond('Ready', false, bad.reason, `${bad.type}: ${bad.message}`) : cond('Ready', true, 'Ready', '');
}

function problemFor(problems: readonly PlanProblem[], kind: 'network' | 'attachment', name: string, condition: PlanProblem['condition']): PlanProblem | undefined {
  return problems.find((p) => p.resource.kind === kind && p.resource.name === name && p.condition === condition);
}

/** `extra`: conditions computed elsewhere (DhcpServing), part of Ready like the others. */
export function networkFacts(n: Network, observed: ObservedState, problems: readonly PlanProblem[], extra: readonly ComputedCondition[] = []): NetworkFacts {
  const byName = new Map(observed.links.map((l) => [l.name, l]));
  const bridgeName = bridgeNameOf(n);
  const bridge = byName.get(bridgeName);
  const bridgeProblem = problemFor(problems, 'network', n.name, 'BridgeReady');
  let bridgeReady: ComputedCondition;
  if (bridgeProblem) bridgeReady = cond('BridgeReady', false, bridgeProblem.reason, bridgeProblem.message);
  else if (!bridge || bridge.kind !== 'bridge') bridgeReady = cond('BridgeReady', false, 'BridgeMissing', `bridge "${bridgeName}" does not exist`);
  else if (!bridge.up) bridgeReady = cond('BridgeReady', false, 'BridgeDown', `bridge "${bridgeName}" is down`);
  else bridgeReady = cond('BridgeReady', true, 'BridgeUp', `bridge "${bridgeName}" is up`);

  const uplinkProblem = problemFor(problems, 'network', n.name, 'UplinkReady');
  const up = uplinkDeviceOf(n);
  let uplinkReady: ComputedCondition;
  if (uplinkProblem) uplinkReady = cond('UplinkReady', false, uplinkProblem.reason, uplinkProblem.message);
  else if (!up) uplinkReady = cond('UplinkReady', true, 'NoUplink', 'an isolated bridge: no uplink desired');
  else {
    const dev = byName.get(up.name);
    if (!dev) uplinkReady = cond('UplinkReady', false, 'UplinkMissing', `uplink "${up.name}" does not exist`);
    else if (!bridge || dev.masterIndex !== bridge.index) uplinkReady = cond('UplinkReady', false, 'NotEnslaved', `uplink "${up.name}" is not a port of "${bridgeName}"`);
    else if (!dev.up) uplinkReady = cond('UplinkReady', false, 'UplinkDown', `uplink "${up.name}" is down`);
    else uplinkReady = cond('UplinkReady', true, 'Enslaved', `${up.kind} uplink "${up.name}" is a port of "${bridgeName}"`);
  }
  return {
    name: n.name, bridgeName, bridgeIfindex: bridge?.index ?? 0,
    conditions: [bridgeReady, uplinkReady, ...extra, ready([bridgeReady, uplinkReady, ...extra])],
  };
}

export function attachmentFacts(a: Attachment, desired: DesiredState, observed: ObservedState, problems: readonly PlanProblem[]): AttachmentFacts {
  const byName = new Map(observed.links.map((l) => [l.name, l]));
  const ifName = ifNameOf(a);
  const dev: Link | undefined = byName.get(ifName);
  const network = desired.networks.find((n) => n.name === a.network);
  const bridge = network ? byName.get(bridgeNameOf(network)) : undefined;
  const problem = problemFor(problems, 'attachment', a.name, 'Configured');
  let configured: ComputedCondition;
  if (problem) configured = cond('Configured', false, problem.reason, problem.message);
  else if (!dev) configured = cond('Configured', false, 'DeviceMissing', `"${ifName}" does not exist`);
  else if (!bridge || dev.masterIndex !== bridge.index) configured = cond('Configured', false, 'NotEnslaved', `"${ifName}" is not a port of the network's bridge`);
  else if (!dev.up) configured = cond('Configured', false, 'DeviceDown', `"${ifName}" is down`);
  else configured = cond('Configured', true, 'Configured', `"${ifName}" is a port of "${bridge.name}"`);

  let negotiated: ComputedCondition;
  const holder = a.kind?.$case === 'tap' ? 'no process holds the TAP open' : 'the peer end is down';
  if (!dev) negotiated = cond('Negotiated', false, 'DeviceMissing', `"${ifName}" does not exist`);
  else if (dev.lowerUp) negotiated = cond('Negotiated', true, 'CarrierUp', 'carrier is up');
  else negotiated = cond('Negotiated', false, 'NoCarrier', `no carrier: ${holder}`);

  const mode = a.ip?.mode;
  return {
    name: a.name, network: a.network, ifName, ifindex: dev?.index ?? 0, mac: macOf(a),
    ip: mode?.$case === 'static' ? mode.static : '',
    conditions: [configured, negotiated, ready([configured, negotiated])],
  };
}
