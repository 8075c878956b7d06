// A guided tour of the dataplane on a sandbox host made of network namespaces: a network
// bridge with an uplink, two pod attachments (veth, peer created inside the pod), one VM
// attachment (TAP), addresses and routes, then what the kernel shows, a ping across the
// bridge, and a bulk teardown. Nothing outside the sandbox namespaces is touched.
//   node dist/dataplane/demo/sandbox.js [--keep]
import { execFileSync } from 'node:child_process';
import { DataplaneError } from '../errors.js';
import { openNetlinkDataplane } from '../netlink/backend.js';
import type { Link } from '../types.js';

const prefix = `hndemo-${process.pid}`;
const ns = { host: `${prefix}-host`, podA: `${prefix}-pod-a`, podB: `${prefix}-pod-b` };
const GROUP = 600;
const keep = process.argv.includes('--keep');

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const step = (text: string): void => console.log(`\n== ${text}`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  step(`sandbox namespaces: ${Object.values(ns).join(', ')}`);
  for (const name of Object.values(ns)) ip('netns', 'add', name);
  const host = await openNetlinkDataplane(ns.host);
  const podA = await openNetlinkDataplane(ns.podA);
  const podB = await openNetlinkDataplane(ns.podB);
  try {
    const t0 = performance.now();
    step('network "web": bridge br-web, STP off, forward delay 0, gateway 192.168.10.1/24');
    await host.ensureBridge({ name: 'br-web', mtu: 1500, alias: 'hostnet:network:web', group: GROUP, up: true });
    await host.addAddress({ dev: 'br-web', cidr: '192.168.10.1/24' });

    step('uplink: a stand-in NIC "eth1" (veth), then VLAN 600 on it');
    await host.ensureVeth({ name: 'eth1', up: true, group: GROUP, peer: { name: 'eth1-peer', up: true } });
    try {
      await host.ensureVlan({ name: 'eth1.600', parent: 'eth1', vlanId: 600, master: 'br-web', alias: 'hostnet:uplink:web', group: GROUP, up: true });
      console.log('VLAN 600 enslaved to br-web');
    } catch (err) {
      if (!(err instanceof DataplaneError) || err.code !== 'EOPNOTSUPP') throw err;
      console.log(`refused as expected on this kernel -> ${err.message}`);
      console.log('falling back to a VXLAN uplink (VNI 600), which this kernel has');
      await host.ensureVxlan({ name: 'vx-web', vni: 600, local: '10.0.0.1', remote: '10.0.0.2', master: 'br-web', alias: 'hostnet:uplink:web', group: GROUP, up: true });
    }

    step('attachments: veth for pods (peer created directly inside the pod as net1), TAP for a VM');
    for (const [i, pod, dp] of [[1, ns.podA, podA], [2, ns.podB, podB]] as const) {
      await host.ensureVeth({
        name: `hv-pod${i}`, master: 'br-web', mtu: 1500, mac: `02:00:00:00:0a:0${i}`,
        alias: `hostnet:attachment:pod${i}-net1`, group: GROUP, up: true,
        peer: { name: 'net1', netns: pod, up: true, mac: `02:00:00:00:0b:0${i}` },
      });
      await dp.addAddress({ dev: 'net1', cidr: `192.168.10.${70 + i}/24` });
      await dp.addRoute({ destination: 'default', via: '192.168.10.1' });
    }
    await host.ensureTap({ name: 'tap-vm1', master: 'br-web', multiQueue: true, vnetHdr: true, alias: 'hostnet:attachment:vm1-nic0', group: GROUP, up: true });
    await host.setNeighbour({ dev: 'br-web', ip: '192.168.10.71', mac: '02:00:00:00:0b:01' });
    console.log(`built in ${(performance.now() - t0).toFixed(1)} ms`);

    step('the same calls again change nothing (idempotent)');
    const before = host.socket.writeCount;
    await host.ensureBridge({ name: 'br-web', mtu: 1500, alias: 'hostnet:network:web', group: GROUP, up: true });
    await host.ensureTap({ name: 'tap-vm1', master: 'br-web', multiQueue: true, vnetHdr: true, alias: 'hostnet:attachment:vm1-nic0', group: GROUP, up: true });
    console.log(`netlink writes for the repeated calls: ${host.socket.writeCount - before}`);

    step('bad input is refused before anything reaches the kernel');
    for (const bad of [
      () => host.ensureBridge({ name: 'br-this-name-is-too-long' }),
      () => host.ensureVeth({ name: 'hv-x', mac: '01:00:5e:00:00:01', peer: { name: 'x' } }),
      () => host.ensureVlan({ name: 'eth1.4095', parent: 'eth1', vlanId: 4095 }),
      () => host.ensureVeth({ name: 'hv-y', peer: { name: 'net1', netns: `${prefix}-no-such-pod` } }),
    ]) {
      await bad().then(() => console.log('UNEXPECTED: accepted'), (err: unknown) => console.log(`refused -> ${(err as Error).message}`));
    }

    step(`what the kernel shows in ${ns.host} (one dump per kind)`);
    const seen = await host.observe();
    const byIndex = new Map<number, Link>(seen.links.map((l) => [l.index, l]));
    console.log(table([
      ['NAME', 'KIND', 'MASTER', 'MTU', 'STATE', 'CARRIER', 'GROUP', 'ALIAS'],
      ...seen.links.map((l) => [
        l.name, l.kind, l.masterIndex ? (byIndex.get(l.masterIndex)?.name ?? String(l.masterIndex)) : '-', String(l.mtu),
        l.up ? 'up' : 'down', l.lowerUp ? 'yes' : 'no', String(l.group), l.alias ?? '-',
      ]),
    ]));
    console.log('');
    console.log(table([['ADDRESS', 'DEV'], ...seen.addresses.filter((a) => a.family === 4).map((a) => [a.cidr, a.dev])]));

    step(`ping from ${ns.podA} (192.168.10.71) to ${ns.podB} (192.168.10.72) across br-web`);
    console.log(execFileSync('ip', ['netns', 'exec', ns.podA, 'ping', '-c', '2', '-W', '2', '192.168.10.72'], { encoding: 'utf8' }).trim());

    if (keep) {
      console.log(`\n--keep: left in place. Inspect with "ip -n ${ns.host} -d link"; remove with:\n  ${Object.values(ns).map((n) => `ip netns del ${n}`).join('; ')}`);
      return;
    }
    step(`bulk teardown: every device of group ${GROUP} in one RTM_DELLINK`);
    const t1 = performance.now();
    await host.deleteLinkGroup(GROUP);
    const left = (await host.listLinks()).map((l) => l.name);
    console.log(`deleted in ${(performance.now() - t1).toFixed(1)} ms; links left in ${ns.host}: ${left.join(', ')}`);
  } finally {
    await Promise.all([host.close(), podA.close(), podB.close()]);
    if (!keep) for (const name of Object.values(ns)) execFileSync('ip', ['netns', 'del', name]);
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  if (!keep) for (const name of Object.values(ns)) execFileSync('sh', ['-c', `ip netns del ${name} 2>/dev/null || true`]);
  process.exitCode = 1;
});
