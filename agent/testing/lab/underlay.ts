// The lab's wires: namespaces for the underlay bridge, the control plane and the hosts, one veth
// from each host's (and the ctl namespace's) eth0 to a port of the bridge, and the addresses.
// Teardown is by namespace: deleting one removes every device in it.
import { execa } from 'execa';
import { CTL_ADDRESS, UNDERLAY_DEV, UNDERLAY_PREFIX_LEN, hostAddress, hostName, type LabTopology } from './topology.js';

const BRIDGE = 'br0';

async function ip(args: string[], what: string): Promise<string> {
  const r = await execa('ip', args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`lab: ${what}: ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout;
}

/** Every namespace whose name starts with `prefix` (the lab's own, and only those). */
export async function labNamespaces(prefix: string): Promise<string[]> {
  const r = await execa('ip', ['-j', 'netns', 'list'], { reject: false });
  const list = r.exitCode === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as { name: string }[]) : [];
  return list.map((n) => n.name).filter((n) => n.startsWith(prefix));
}

export async function addNamespace(name: string): Promise<void> {
  await ip(['netns', 'add', name], `create namespace ${name}`);
  await ip(['-n', name, 'link', 'set', 'lo', 'up'], `loopback up in ${name}`);
}

export async function deleteNamespace(name: string): Promise<void> {
  await execa('ip', ['netns', 'del', name], { reject: false });
}

/** A veth from `ns`'s eth0 (address `addr`) to bridge port `port` in the underlay namespace. */
async function wire(t: LabTopology, ns: string, port: string, addr: string): Promise<void> {
  await ip(['-n', t.underlayNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', UNDERLAY_DEV, 'netns', ns], `veth ${port} to ${ns}`);
  await ip(['-n', t.underlayNs, 'link', 'set', port, 'master', BRIDGE, 'up'], `bridge port ${port}`);
  await ip(['-n', ns, 'addr', 'add', `${addr}/${UNDERLAY_PREFIX_LEN}`, 'dev', UNDERLAY_DEV], `address ${addr} in ${ns}`);
  await ip(['-n', ns, 'link', 'set', UNDERLAY_DEV, 'up'], `${UNDERLAY_DEV} up in ${ns}`);
}

/** Another namespace on the underlay (e.g. a fabric router): its eth0 at `addr`, bridge port `port`. */
export async function addUnderlayPeer(t: LabTopology, ns: string, port: string, addr: string): Promise<void> {
  await addNamespace(ns);
  await wire(t, ns, port, addr);
}

/**
 * The underlay: a bridge (multicast snooping off, so a multicast VXLAN group floods to every
 * port without IGMP queriers) with the ctl namespace and every host on it.
 */
export async function buildUnderlay(t: LabTopology): Promise<void> {
  for (const ns of [t.underlayNs, t.ctlNs, ...t.hostNs]) await addNamespace(ns);
  await ip(['-n', t.underlayNs, 'link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0'], 'underlay bridge');
  await ip(['-n', t.underlayNs, 'link', 'set', BRIDGE, 'up'], 'underlay bridge up');
  await wire(t, t.ctlNs, 'ctl', CTL_ADDRESS);
  for (let i = 1; i <= t.hosts; i++) await wire(t, t.hostNs[i - 1]!, hostName(i), hostAddress(i));
}

/** Both ends of every wire (the ctl namespace's and each host's eth0, their bridge ports) to `mtu`. */
export async function setUnderlayMtu(t: LabTopology, mtu: number): Promise<void> {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`lab: underlay MTU ${mtu}: want 68..65535`);
  const wires: Array<[string, string]> = [[t.ctlNs, 'ctl'], ...t.hostNs.map((ns, k): [string, string] => [ns, hostName(k + 1)])];
  for (const [ns, port] of wires) {
    await ip(['-n', t.underlayNs, 'link', 'set', port, 'mtu', String(mtu)], `mtu ${mtu} on bridge port ${port}`);
    await ip(['-n', ns, 'link', 'set', UNDERLAY_DEV, 'mtu', String(mtu)], `mtu ${mtu} on ${UNDERLAY_DEV} in ${ns}`);
  }
}
