// The shape of the desired state in the proto3 JSON mapping: which fields each message has and
// what type each takes. ts-proto's fromJSON coerces whatever it is given (a string for a list,
// -1 for a uint32) and the encoder then fails naming no field, so the loader checks input
// against this table first. test/unit/agent/json-shape.test.ts keeps it equal to resources.proto.

export type MessageName =
  | 'DesiredState' | 'Network' | 'Uplink' | 'NoUplink' | 'VlanUplink' | 'VxlanUplink' | 'UntaggedUplink'
  | 'Dhcp' | 'IpRange' | 'StaticRoute' | 'Reservation' | 'Attachment' | 'IpConfig' | 'TapDevice' | 'VethPair'
  | 'AutoIp' | 'NoIp' | 'PortSecurity' | 'AddressPair' | 'SecurityGroup' | 'SecurityRule' | 'AddressRequest' | 'CniOwner' | 'Ipv6Subnet'
  | 'NodeSettings' | 'Bgp' | 'BgpPeer' | 'PoolSlice' | 'Router' | 'RouterExternal';

export type FieldType =
  | { kind: 'string' | 'bool' | 'uint32' | 'uint64' }
  /** A string field that also takes an unquoted integer (fromJSON makes it a string), e.g. `protocol: 132`. */
  | { kind: 'string'; integerAllowed: true }
  | { kind: 'enum'; name: string; values: Readonly<Record<string, number>> }
  | { kind: 'message'; name: MessageName };

export interface FieldShape {
  /** The JSON name (lowerCamelCase); the proto name (snake_case) is accepted too. */
  json: string;
  proto: string;
  type: FieldType;
  repeated: boolean;
  /** The oneof this field belongs to, if any: at most one of its fields may be set. */
  oneof?: string;
}

const snake = (json: string): string => json.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const STRING = { kind: 'string' } as const;
const BOOL = { kind: 'bool' } as const;
const UINT32 = { kind: 'uint32' } as const;
const UINT64 = { kind: 'uint64' } as const;
const IP_FAMILY = { kind: 'enum', name: 'IpFamily', values: { IP_FAMILY_UNSPECIFIED: 0, IPV4: 4, IPV6: 6 } } as const;
const DIRECTION = { kind: 'enum', name: 'Direction', values: { DIRECTION_UNSPECIFIED: 0, INGRESS: 1, EGRESS: 2 } } as const;
const IPV6_MODE = { kind: 'enum', name: 'Ipv6Mode', values: { IPV6_MODE_UNSPECIFIED: 0, SLAAC: 1, DHCPV6_STATELESS: 2, DHCPV6_STATEFUL: 3 } } as const;
const NETWORK_MODE = { kind: 'enum', name: 'NetworkMode', values: { NETWORK_MODE_UNSPECIFIED: 0, BRIDGED: 1, ROUTED: 2 } } as const;
const ANNOUNCE = { kind: 'enum', name: 'Announce', values: { ANNOUNCE_UNSPECIFIED: 0, HOST_ROUTES: 1, AGGREGATE: 2, NO_ANNOUNCE: 3 } } as const;
const NAT_MODE = { kind: 'enum', name: 'NatMode', values: { NAT_MODE_UNSPECIFIED: 0, MASQUERADE: 1, SNAT: 2, NO_NAT: 3 } } as const;
const STRING_OR_INTEGER = { kind: 'string', integerAllowed: true } as const;
const msg = (name: MessageName): FieldType => ({ kind: 'message', name });

function f(json: string, type: FieldType, opts: { repeated?: boolean; oneof?: string } = {}): FieldShape {
  return { json, proto: snake(json), type, repeated: opts.repeated ?? false, ...(opts.oneof ? { oneof: opts.oneof } : {}) };
}
const list = { repeated: true };

export const MESSAGES: Readonly<Record<MessageName, readonly FieldShape[]>> = {
  DesiredState: [f('generation', UINT64), f('networks', msg('Network'), list), f('attachments', msg('Attachment'), list),
    f('securityGroups', msg('SecurityGroup'), list), f('node', msg('NodeSettings')),
    f('routers', msg('Router'), list)],
  Router: [f('name', STRING), f('networks', STRING, list), f('external', msg('RouterExternal'))],
  RouterExternal: [f('interface', STRING), f('nat', NAT_MODE), f('snatAddress', STRING)],
  NodeSettings: [f('bgp', msg('Bgp')), f('poolSlice', msg('PoolSlice'))],
  Bgp: [f('asn', UINT32), f('routerId', STRING), f('peers', msg('BgpPeer'), list)],
  BgpPeer: [f('address', STRING), f('asn', UINT32), f('description', STRING)],
  PoolSlice: [f('index', UINT32), f('count', UINT32)],
  Network: [
    f('name', STRING), f('bridgeName', STRING), f('mtu', UINT32), f('uplink', msg('Uplink')), f('importedBridge', BOOL),
    f('ipFamily', IP_FAMILY), f('cidr', STRING), f('gateway', STRING), f('gatewayOnBridge', BOOL), f('dhcp', msg('Dhcp')), f('ipv6Mode', IPV6_MODE), f('ipv6', msg('Ipv6Subnet')),
    f('mode', NETWORK_MODE), f('announce', ANNOUNCE),
  ],
  Uplink: [
    f('none', msg('NoUplink'), { oneof: 'kind' }), f('vlan', msg('VlanUplink'), { oneof: 'kind' }),
    f('vxlan', msg('VxlanUplink'), { oneof: 'kind' }), f('untagged', msg('UntaggedUplink'), { oneof: 'kind' }),
  ],
  NoUplink: [],
  VlanUplink: [f('parent', STRING), f('id', UINT32)],
  VxlanUplink: [
    f('vni', UINT32), f('local', STRING), f('remote', STRING, { oneof: 'destination' }), f('group', STRING, { oneof: 'destination' }),
    f('port', UINT32), f('device', STRING), f('remotes', STRING, list), f('evpn', BOOL),
  ],
  UntaggedUplink: [f('name', STRING)],
  Dhcp: [
    f('enabled', BOOL), f('pools', msg('IpRange'), list), f('dnsServers', STRING, list), f('searchDomains', STRING, list),
    f('domainName', STRING), f('routes', msg('StaticRoute'), list), f('leaseSeconds', UINT32),
    f('reservations', msg('Reservation'), list), f('serverAddress', STRING),
  ],
  IpRange: [f('start', STRING), f('end', STRING)],
  StaticRoute: [f('destination', STRING), f('via', STRING)],
  Reservation: [f('mac', STRING), f('ip', STRING), f('hostname', STRING), f('duid', STRING)],
  Attachment: [
    f('name', STRING), f('network', STRING), f('tap', msg('TapDevice'), { oneof: 'kind' }), f('veth', msg('VethPair'), { oneof: 'kind' }),
    f('mac', STRING), f('mtu', UINT32), f('ip', msg('IpConfig')), f('portSecurity', msg('PortSecurity')), f('cni', msg('CniOwner')),
  ],
  CniOwner: [f('containerId', STRING), f('cniNetwork', STRING)],
  PortSecurity: [f('enabled', BOOL), f('securityGroups', STRING, list), f('allowedAddressPairs', msg('AddressPair'), list)],
  AddressPair: [f('ip', STRING), f('mac', STRING)],
  SecurityGroup: [f('name', STRING), f('rules', msg('SecurityRule'), list), f('description', STRING)],
  SecurityRule: [
    f('direction', DIRECTION), f('protocol', STRING_OR_INTEGER), f('fromPort', UINT32), f('toPort', UINT32),
    f('remoteCidr', STRING, { oneof: 'remote' }), f('remoteGroup', STRING, { oneof: 'remote' }), f('description', STRING),
  ],
  IpConfig: [
    f('static', STRING, { oneof: 'mode' }), f('auto', msg('AutoIp'), { oneof: 'mode' }), f('none', msg('NoIp'), { oneof: 'mode' }),
    f('addresses', msg('AddressRequest'), list), f('skipAssignment', BOOL),
  ],
  AddressRequest: [f('static', STRING, { oneof: 'mode' }), f('auto', msg('AutoIp'), { oneof: 'mode' }), f('family', IP_FAMILY)],
  Ipv6Subnet: [f('cidr', STRING), f('gateway', STRING), f('gatewayOnBridge', BOOL), f('ipv6Mode', IPV6_MODE), f('dhcp', msg('Dhcp'))],
  TapDevice: [f('ifName', STRING), f('owner', UINT32), f('group', UINT32), f('multiQueue', BOOL), f('vnetHdr', BOOL)],
  VethPair: [f('ifName', STRING), f('peerNetns', STRING), f('peerIfName', STRING)],
  AutoIp: [],
  NoIp: [],
};
