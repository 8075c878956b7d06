// Checks of routed networks (mode ROUTED, routed.ts): what a network without a bridge cannot
// have, and what is not built for it yet (refused rather than silently ignored: a routed port
// with port security would otherwise pass traffic unfiltered).
// Like validate-node.ts, violations go out through `add` (no import of validate.ts).
import { Announce, IpFamily, type DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { isRouted, routedGatewayOf } from './routed.js';

export type AddViolation = (path: string, rule: string, message: string) => void;

export function validateRouted(state: DesiredState, add: AddViolation): void {
  const routed = new Set<string>();
  state.networks.forEach((n, i) => {
    const p = `networks[${i}]`;
    if (!isRouted(n)) {
      if (n.announce !== Announce.ANNOUNCE_UNSPECIFIED) add(`${p}.announce`, 'announce-routed-only', 'announce applies to routed networks (mode: ROUTED) only');
      return;
    }
    routed.add(n.name);
    const k = n.uplink?.kind?.$case;
    if (k && k !== 'none') add(`${p}.uplink`, 'routed-no-uplink', 'a routed network has no bridge, so no uplink: the host routes its workloads');
    if (n.importedBridge || n.bridgeName) add(`${p}.bridgeName`, 'routed-no-bridge', 'a routed network has no bridge');
    if (n.gatewayOnBridge) add(`${p}.gatewayOnBridge`, 'routed-no-bridge', 'a routed network has no bridge: its gateway is on every attachment\'s device');
    // The DHCP server answers on every device from the gateway, the one address the host has there.
    const gw = routedGatewayOf(n);
    if (n.dhcp?.serverAddress && n.dhcp.serverAddress !== gw) {
      add(`${p}.dhcp.serverAddress`, 'routed-dhcp-server-is-gateway', `a routed network's DHCP server answers from its gateway ${gw || '(none)'} on every device: leave serverAddress empty or set it to the gateway`);
    }
    if (n.ipFamily === IpFamily.IPV6 || n.cidr.includes(':') || n.ipv6) {
      add(n.ipv6 ? `${p}.ipv6` : `${p}.ipFamily`, 'routed-ipv4-only', 'routed networks are IPv4 only for now (proxy NDP and DHCPv6 per device are not built yet)');
    }
  });
  state.attachments.forEach((a, i) => {
    if (!routed.has(a.network)) return;
    if (a.portSecurity?.enabled) {
      add(`attachments[${i}].portSecurity`, 'routed-port-security',
        `network "${a.network}" is routed: port security on routed ports is not built yet, and hostnet refuses to leave a port it should filter unfiltered`);
    }
  });
}
