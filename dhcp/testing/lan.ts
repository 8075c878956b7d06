// DHCP test and bench topology: a "host" namespace with a bridge that carries the server's
// address, and client namespaces each behind a veth whose host end is on the bridge (what an
// attachment looks like). Built with plain `ip` so it does not depend on the code under test.
import { execa } from 'execa';

export interface DhcpLan {
  hostNs: string;
  bridge: string;
  /** Server address with prefix, e.g. "10.61.0.1/24". */
  serverCidr: string;
  clients: DhcpLanClient[];
}

export interface DhcpLanClient {
  netns: string;
  /** Interface name inside the client namespace (unique per LAN: dhcpcd keys files by it). */
  ifname: string;
  mac: string;
  /** Host end of the veth, on the bridge. */
  hostEnd: string;
}

async function ipn(netns: string, args: string[]): Promise<void> {
  await execa('ip', ['-n', netns, ...args]);
}

/** Creates the bridge (with the server address) in `hostNs`; namespaces must exist. */
export async function createDhcpLan(hostNs: string, bridge: string, serverCidr: string): Promise<DhcpLan> {
  await ipn(hostNs, ['link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await ipn(hostNs, ['addr', 'add', serverCidr, 'dev', bridge]);
  await ipn(hostNs, ['link', 'set', bridge, 'up']);
  return { hostNs, bridge, serverCidr, clients: [] };
}

/** A MAC in the locally administered range derived from two small numbers. */
export function testMac(a: number, b: number): string {
  const h = (n: number): string => (n & 0xff).toString(16).padStart(2, '0');
  return `02:4e:${h(a >> 8)}:${h(a)}:${h(b >> 8)}:${h(b)}`;
}

/** Adds a client namespace behind a veth on the LAN's bridge; IPv6 off (no autoconf noise). */
export async function addDhcpClient(lan: DhcpLan, clientNs: string, ifname: string, mac: string): Promise<DhcpLanClient> {
  const hostEnd = `vh${lan.clients.length}${ifname}`.slice(0, 15);
  await execa('ip', ['netns', 'exec', clientNs, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await ipn(lan.hostNs, ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', ifname, 'address', mac, 'netns', clientNs]);
  await ipn(lan.hostNs, ['link', 'set', hostEnd, 'master', lan.bridge, 'up']);
  await ipn(clientNs, ['link', 'set', ifname, 'up']);
  const client = { netns: clientNs, ifname, mac, hostEnd };
  lan.clients.push(client);
  return client;
}

/** Waits until the bridge port forwards (it starts in "listening" briefly even with delay 0). */
export async function waitForwarding(lan: DhcpLan, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await execa('bridge', ['-n', lan.hostNs, '-j', 'link', 'show'], { reject: false });
    const ports = r.stdout ? (JSON.parse(r.stdout) as { ifname?: string; state?: string }[]) : [];
    const mine = ports.filter((p) => lan.clients.some((c) => c.hostEnd === p.ifname));
    if (mine.length === lan.clients.length && mine.every((p) => p.state === 'forwarding')) return;
    if (Date.now() > deadline) throw new Error(`bridge ${lan.bridge} in ${lan.hostNs}: ports not forwarding after ${timeoutMs} ms`);
    await new Promise((r2) => setTimeout(r2, 50));
  }
}
