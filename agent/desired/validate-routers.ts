// Checks of the routers section: each router a unique name, networks that exist, each bridged
// one with the gateway on its bridge (that address is the router's on the network: routing
// between networks goes through it; a routed network's gateway is on each of its devices), no
// network listed twice, and an external interface that is the host's own (a valid name, none of
// the devices hostnet makes) with a NAT setting that fits.
// Like validate-node.ts, violations go out through `add` (no import of validate.ts).
import { DataplaneError } from '../../dataplane/errors.js';
import { parseIp } from '../../dataplane/ip.js';
import { checkIfName } from '../../dataplane/validate.js';
import { NatMode, type DesiredState, type RouterExternal } from '../api/gen/hostnet/v1/resources.js';
import { bridgeNameOf, ifNameOf, RESOURCE_NAME_PATTERN, uplinkDeviceOf } from '../naming.js';
import { isRouted } from './routed.js';
import { subnetsOf } from './subnets.js';

export type AddViolation = (path: string, rule: string, message: string) => void;

export function validateRouters(state: DesiredState, add: AddViolation): void {
  if (state.routers.length === 0) return;
  const networks = new Map(state.networks.map((n) => [n.name, n]));
  const hostnetDevices = hostnetDeviceNames(state);
  const names = new Map<string, number>();
  state.routers.forEach((r, i) => {
    const p = `routers[${i}]`;
    if (!r.name) add(`${p}.name`, 'name-required', 'a router needs a name');
    else if (!RESOURCE_NAME_PATTERN.test(r.name)) {
      add(`${p}.name`, 'name-format', `router name "${r.name}" must be lower-case letters, digits and '-', start and end with a letter or digit, at most 63 characters`);
    } else if (names.has(r.name)) {
      add(`${p}.name`, 'name-unique', `router "${r.name}" is defined twice (also routers[${names.get(r.name)}])`);
    } else names.set(r.name, i);

    if (r.networks.length === 0) add(`${p}.networks`, 'router-networks', 'a router connects at least one network');
    const seen = new Map<string, number>();
    r.networks.forEach((name, j) => {
      const np = `${p}.networks[${j}]`;
      const n = networks.get(name);
      if (seen.has(name)) {
        add(np, 'router-network-unique', `network "${name}" is listed twice (also ${p}.networks[${seen.get(name)}])`);
        return;
      }
      seen.set(name, j);
      if (!n) {
        add(np, 'reference-resolves', `network "${name}" is not defined in this state`);
        return;
      }
      // A routed network always has one: its gateway, held on each of its devices (routed.ts),
      // is the router's address there.
      if (isRouted(n)) return;
      // The gateway on the bridge is the router's address on the network (and the workloads'
      // default route): without it there is nothing on the host to route through.
      const withoutGateway = subnetsOf(n).filter((s) => !s.gateway || !s.gatewayOnBridge);
      if (withoutGateway.length > 0) {
        const which = withoutGateway.map((s) => (s.primary ? 'gateway' : 'ipv6.gateway')).join(' and ');
        add(np, 'router-needs-gateway', `network "${name}" needs a ${which} with gatewayOnBridge: that address is the router's on it`);
      }
    });
    if (r.external) validateExternal(r.external, `${p}.external`, hostnetDevices, add);
  });
}

function validateExternal(x: RouterExternal, p: string, hostnetDevices: Map<string, string>, add: AddViolation): void {
  const problem = ifNameProblem(x.interface);
  if (problem) add(`${p}.interface`, 'ifname-valid', problem);
  else if (hostnetDevices.has(x.interface)) {
    add(`${p}.interface`, 'router-external-own-device', `"${x.interface}" cannot be the way out: it is ${hostnetDevices.get(x.interface)}, a device hostnet manages`);
  }
  const nat = x.nat;
  if (nat === NatMode.SNAT) {
    const ip = x.snatAddress ? parseIp(x.snatAddress) : null;
    if (!x.snatAddress) add(`${p}.snatAddress`, 'snat-address-required', 'SNAT needs snatAddress, the address sources become');
    else if (!ip) add(`${p}.snatAddress`, 'ip-format', `snatAddress "${x.snatAddress}" is not an IP address`);
    else if (ip.family !== 4) add(`${p}.snatAddress`, 'snat-address-ipv4', `snatAddress ${ip.text} is not an IPv4 address (routers NAT IPv4 only)`);
  } else if (nat === NatMode.NAT_MODE_UNSPECIFIED || nat === NatMode.MASQUERADE || nat === NatMode.NO_NAT) {
    if (x.snatAddress) {
      add(`${p}.snatAddress`, 'snat-address-unused', `snatAddress is for nat SNAT; with ${nat === NatMode.NO_NAT ? 'NO_NAT' : 'MASQUERADE'} it would be ignored: remove it`);
    }
  } else add(`${p}.nat`, 'nat-mode', 'nat must be MASQUERADE, SNAT or NO_NAT');
}

function ifNameProblem(name: string): string | null {
  try {
    checkIfName('validate', name, 'interface');
    return null;
  } catch (err) {
    if (err instanceof DataplaneError) return err.detail;
    throw err;
  }
}

/** Every device name hostnet makes or takes over (bridges, uplinks, attachments' host ends), with what it is. */
function hostnetDeviceNames(state: DesiredState): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of state.networks) {
    if (n.name || n.bridgeName) out.set(bridgeNameOf(n), `the bridge of network "${n.name}"`);
    const up = uplinkDeviceOf(n);
    if (up) out.set(up.name, `the ${up.kind} uplink of network "${n.name}"`);
  }
  for (const a of state.attachments) {
    const name = ifNameOf(a);
    if (name) out.set(name, `the device of attachment "${a.name}"`);
  }
  return out;
}
