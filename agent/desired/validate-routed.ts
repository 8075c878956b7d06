// Checks of routed networks (mode ROUTED, routed.ts): what a network without a bridge cannot
// have, and what is not built for it yet (refused rather than silently ignored). Port security
// on a routed port is built (agent/firewall: inet and arp hooks by device name).
// Like validate-node.ts, violations go out through `add` (no import of validate.ts).
import { parseCidr } from '../../dataplane/ip.js';
import { Announce, IpFamily, Ipv6Mode, type DesiredState, type Network } from '../api/gen/hostnet/v1/resources.js';
import { isRouted, routedGatewayOf } from './routed.js';

export type AddViolation = (path: string, rule: string, message: string) => void;

export function validateRouted(state: DesiredState, add: AddViolation): void {
  state.networks.forEach((n, i) => {
    const p = `networks[${i}]`;
    if (!isRouted(n)) {
      if (n.announce !== Announce.ANNOUNCE_UNSPECIFIED) add(`${p}.announce`, 'announce-routed-only', 'announce applies to routed networks (mode: ROUTED) only');
      return;
    }
    const k = n.uplink?.kind?.$case;
    if (k && k !== 'none') add(`${p}.uplink`, 'routed-no-uplink', 'a routed network has no bridge, so no uplink: the host routes its workloads');
    if (n.importedBridge || n.bridgeName) add(`${p}.bridgeName`, 'routed-no-bridge', 'a routed network has no bridge');
    if (n.gatewayOnBridge) add(`${p}.gatewayOnBridge`, 'routed-no-bridge', 'a routed network has no bridge: its gateway is on every attachment\'s device');
    // The DHCP server answers on every device from the gateway, the one address the host has there.
    const gw = routedGatewayOf(n);
    if (n.dhcp?.serverAddress && n.dhcp.serverAddress !== gw) {
      add(`${p}.dhcp.serverAddress`, 'routed-dhcp-server-is-gateway', `a routed network's DHCP server answers from its gateway ${gw || '(none)'} on every device: leave serverAddress empty or set it to the gateway`);
    }
    validateRoutedIpv6(n, p, add);
  });
}

/**
 * IPv6 on a routed network (agent/routed/ipv6.ts): an IPv6-only routed network or the `ipv6`
 * block of an IPv4 one, addresses static, auto, SLAAC or DHCPv6 (one server per device,
 * handing out each attachment's own address: agent/dhcp/routed6.ts); the router is each
 * device's link-local address. Refused: a gateway (the router is the link-local address), a
 * bridge, SLAAC on a prefix other than /64.
 */
function validateRoutedIpv6(n: Network, p: string, add: AddViolation): void {
  // An IPv6-only routed network is judged as its own IPv6 subnet (gatewayOnBridge is refused above).
  const only6 = n.ipFamily === IpFamily.IPV6 || n.cidr.includes(':');
  const v6 = only6 ? { cidr: n.cidr, gateway: n.gateway, gatewayOnBridge: false, ipv6Mode: n.ipv6Mode } : n.ipv6;
  const at = only6 ? p : `${p}.ipv6`;
  if (!v6) return;
  if (v6.gatewayOnBridge) add(`${at}.gatewayOnBridge`, 'routed-no-bridge', 'a routed network has no bridge: its IPv6 router is each attachment\'s device (its link-local address)');
  if (v6.gateway) add(`${at}.gateway`, 'routed-ipv6-router-link-local', `a routed network's IPv6 router is each attachment's device, by its link-local address: leave ${only6 ? 'gateway' : 'ipv6.gateway'} empty`);
  const slaac = v6.ipv6Mode === Ipv6Mode.IPV6_MODE_UNSPECIFIED || v6.ipv6Mode === Ipv6Mode.SLAAC;
  const cidr = parseCidr(v6.cidr);
  if (slaac && cidr && cidr.family === 6 && cidr.prefix !== 64) {
    add(`${at}.cidr`, 'routed-ipv6-slaac-64', `SLAAC needs a /64 and the agent advertises ${v6.cidr} on every routed device: use a /64`);
  }
}
