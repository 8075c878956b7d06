// The attachment workload every method builds: N veth pairs, host end on bridge br0 with MTU,
// MAC, alias (the ownership marker), link group and up; peer in a second namespace, up, with
// an address. Names and addresses are a pure function of the index, so all methods agree.
export const BRIDGE = 'br0';
export const GROUP = 77;

export interface Attachment {
  host: string;
  peer: string;
  mac: string;
  alias: string;
  cidr: string;
}

export function attachment(i: number): Attachment {
  const a = i + 1;
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return {
    host: `hv${i}`,
    peer: `p${i}`,
    mac: `02:00:00:${hex((a >> 16) & 255)}:${hex((a >> 8) & 255)}:${hex(a & 255)}`,
    alias: `hostnet:attachment:a${i}`,
    cidr: `10.200.${a >> 8}.${a & 255}/16`,
  };
}

export function attachments(n: number): Attachment[] {
  return Array.from({ length: n }, (_, i) => attachment(i));
}

/** The same workload as iproute2 command lines: [host-namespace lines, peer-namespace lines]. */
export function ipLines(
  n: number,
  peerNs: string,
): { host: string[][]; peer: string[][]; teardown: string[][]; teardownOneByOne: string[][] } {
  const host: string[][] = [];
  const peer: string[][] = [];
  for (const a of attachments(n)) {
    host.push(['link', 'add', a.host, 'mtu', '1500', 'address', a.mac, 'group', String(GROUP), 'master', BRIDGE, 'up',
      'type', 'veth', 'peer', 'name', a.peer, 'netns', peerNs]);
    host.push(['link', 'set', 'dev', a.host, 'alias', a.alias]);
    peer.push(['link', 'set', 'dev', a.peer, 'up']);
    peer.push(['addr', 'add', a.cidr, 'dev', a.peer]);
  }
  return {
    host,
    peer,
    teardown: [['link', 'del', 'group', String(GROUP)]],
    teardownOneByOne: attachments(n).map((a) => ['link', 'del', 'dev', a.host]),
  };
}
