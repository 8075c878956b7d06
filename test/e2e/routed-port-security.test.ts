// Port security on the ports of a routed network (issue 13), with the real hostnet-agent in a
// namespace that plays the host. The network has no bridge: each workload's device is a
// layer-3 interface of the host, so the firewall checks its packets in the inet and arp hooks
// (agent/firewall/ruleset.ts). Workloads (veth, static addresses but d, which runs udhcpc):
//   x (group clients: egress TCP 8080, ICMP, UDP; ingress ICMP from anyone) sends forged frames;
//   v (group web: ingress TCP 8080, ICMP and UDP from members of clients) is the victim;
//   w (group out: egress anything, not in clients);
//   d (group out, no address: DHCP);
//   t (group out, a TAP: the test plays its guest by opening the TAP, as a VMM would).
// Witnesses, none of them the agent: real traffic (ping, TCP connects to python servers),
// sniffers in v (AF_PACKET) and a raw UDP socket in the host namespace (what the host's IP
// stack delivered), the host's neighbour table (what ARP it believed), the named counters in
// `nft -j list counters` (bridge, inet and arp tables), and udhcpc's lease.
// Ordering: after forged frames x sends a sentinel from its own address to v and to the host;
// once both saw it and the counter counted the forged frames, a forged frame that got through
// would have been seen too.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETNS_RUN_DIR } from '../../dataplane/netns-path.js';
import { buildDist, hostnetctl } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually } from '../lib/agent-state.js';
import { DhcpClientRun } from '../lib/dhcp-clients.js';
import { NFT } from '../lib/nft-ruleset.js';
import { useNetns } from '../lib/netns.js';
import { hex, inNetns, ipv4Hex, macHex, nftCounters, ping, PyShell, py } from '../lib/port-security.js';
import { SpoofCheck } from '../lib/spoof-check.js';

const ns = useNetns(5, 'all', 'hnB');
const host = (): string => ns[0]!;
const xNs = (): string => ns[1]!;
const vNs = (): string => ns[2]!;
const wNs = (): string => ns[3]!;
const dNs = (): string => ns[4]!;

const GW = '10.96.0.1';
const X = '10.96.0.11';
const V = '10.96.0.12';
const W = '10.96.0.13';
const T = '10.96.0.15';
const T_MAC = '52:54:00:96:00:15';
const OTHER_MAC = '02:de:ad:be:ef:01';

const STATE = (): string => JSON.stringify({
  generation: 1,
  networks: [{
    name: 'rps', mode: 'ROUTED', ipFamily: 'IPV4', cidr: '10.96.0.0/24',
    dhcp: { enabled: true, pools: [{ start: '10.96.0.100', end: '10.96.0.110' }], leaseSeconds: 600 },
  }],
  securityGroups: [
    {
      name: 'clients', rules: [
        { direction: 'EGRESS', protocol: 'TCP', fromPort: 8080, toPort: 8080 }, { direction: 'EGRESS', protocol: 'ICMP' },
        { direction: 'EGRESS', protocol: 'UDP' }, { direction: 'INGRESS', protocol: 'ICMP' },
      ],
    },
    {
      name: 'web', rules: [
        { direction: 'INGRESS', protocol: 'TCP', fromPort: 8080, toPort: 8080, remoteGroup: 'clients' },
        { direction: 'INGRESS', protocol: 'ICMP', remoteGroup: 'clients' }, { direction: 'INGRESS', protocol: 'UDP', remoteGroup: 'clients' },
        { direction: 'EGRESS', protocol: 'ANY' },
      ],
    },
    { name: 'out', rules: [{ direction: 'EGRESS', protocol: 'ANY' }] },
  ],
  attachments: [
    ...[['x', X, 'clients', xNs()], ['v', V, 'web', vNs()], ['w', W, 'out', wNs()], ['d', '', 'out', dNs()]].map(([name, ip, group, netns]) => ({
      name, network: 'rps', veth: { ifName: `hv-${name!}`, peerNetns: `${NETNS_RUN_DIR}/${netns!}`, peerIfName: 'eth0' },
      ...(ip ? { ip: { static: ip } } : {}),
      portSecurity: { enabled: true, securityGroups: [group] },
    })),
    { name: 't', network: 'rps', tap: { ifName: 'tap-t' }, mac: T_MAC, ip: { static: T }, portSecurity: { enabled: true, securityGroups: ['out'] } },
  ],
});

const session = new AgentSession();
let x: PyShell;
let v: PyShell;
let w: PyShell;
/** In the host namespace: a raw UDP socket (what the host's IP stack delivered to itself). */
let hostShell: PyShell;
let xMac = '';
/** The host end of x's veth: where x's routed frames go. */
let gwMacX = '';
const dhcpClients: DhcpClientRun[] = [];

/** Every named counter of the hostnet tables (bridge, inet, arp), packets by name. */
const counters = (): Promise<Map<string, number>> => nftCounters(host(), ['bridge', 'inet', 'arp']);
/** A port's anti-spoofing drops: IP ones in the inet table, ARP ones in the arp table. */
const spoofCount = async (a: string): Promise<number> => {
  const c = await counters();
  return (c.get(`spoof-${a}`) ?? 0) + (c.get(`arp-spoof-${a}`) ?? 0);
};
const counter = async (name: string): Promise<number> => (await counters()).get(name) ?? 0;
const vSaw = (needle: string): Promise<boolean> => v.eval<boolean>(`sniffed(${py(needle)})`);
/** Whether the host's IP stack delivered a UDP datagram containing `text`. */
const hostGot = (text: string): Promise<boolean> => hostShell.eval<boolean>(`any(${py(text)} in p for (_, _, p) in list(raw_seen))`);

/**
 * x sends scapy frames, then a sentinel to v and to the host; both must see it. Forged frames
 * are counted in x's spoof counters and seen neither by v nor by the host's IP stack.
 */
const check = new SpoofCheck({
  sender: () => x,
  sentinels: (marker) => [V, GW].map((dst) => `Ether(src=${py(xMac)}, dst=${py(gwMacX)})/IP(src=${py(X)}, dst=${py(dst)})/UDP(sport=4000, dport=9)/Raw(${py(marker)})`),
  markerNeedle: (marker) => marker,
  witnesses: () => [{ name: 'v', saw: (n) => vSaw(hex(n)) }, { name: 'the host', saw: hostGot }],
  counter: { name: 'x\'s spoof counters', read: () => spoofCount('x') },
});
const sendFromX = (frames: string[]): Promise<void> => check.send(frames);
const expectDropped = (frames: string[], needles: string[]): Promise<void> => check.expectDropped(frames, needles);

const toV = (src: string, mac: string, payload: string): string =>
  `Ether(src=${py(mac)}, dst=${py(gwMacX)})/IP(src=${py(src)}, dst=${py(V)})/UDP(sport=4000, dport=9)/Raw(${py(payload)})`;
const toHost = (src: string, mac: string, payload: string): string =>
  `Ether(src=${py(mac)}, dst=${py(gwMacX)})/IP(src=${py(src)}, dst=${py(GW)})/UDP(sport=4000, dport=9)/Raw(${py(payload)})`;

/** The host's neighbour entries on x's device: "ip lladdr". */
const hostNeighbours = (): Promise<string[]> => hostNeighboursOf('hv-x');
async function hostNeighboursOf(dev: string): Promise<string[]> {
  const r = await execa('ip', ['-n', host(), '-j', 'neigh', 'show', 'dev', dev]);
  return (JSON.parse(r.stdout || '[]') as Array<{ dst: string; lladdr?: string }>).map((n) => `${n.dst} ${n.lladdr ?? ''}`);
}

beforeAll(async () => {
  await buildDist();
  await session.open('hostnet-e2e-routed-ps-');
  await session.boot(host());
  await session.applyText(STATE(), 'json');
  // The agent configures the static workloads' ends (address, default route via the gateway).
  for (const [n, ip] of [[xNs(), X], [vNs(), V], [wNs(), W]] as const) {
    await eventually(`${ip} configured in its workload`, async () => (await inNetns(n, ['ip', '-4', 'addr', 'show', 'dev', 'eth0'])).includes(ip));
  }
  await inNetns(dNs(), ['ip', 'link', 'set', 'eth0', 'up']);
  [x, v, w, hostShell] = await Promise.all([PyShell.start(xNs(), 'x'), PyShell.start(vNs(), 'v'), PyShell.start(wNs(), 'w'), PyShell.start(host(), 'host')]);
  await Promise.all([
    x.run('load_scapy()\nsniff_start("eth0")'), v.run('sniff_start("eth0")\nserve_tcp(8080)\nserve_tcp(9090)'), w.run('serve_tcp(8080)'), hostShell.run('serve_raw(17)'),
  ]);
  xMac = (await x.eval<string>('open("/sys/class/net/eth0/address").read().strip()')).toLowerCase();
  gwMacX = (JSON.parse((await execa('ip', ['-n', host(), '-j', 'link', 'show', 'hv-x'])).stdout) as Array<{ address: string }>)[0]!.address.toLowerCase();
}, 120_000);

afterAll(async () => {
  for (const c of dhcpClients) await c.stop().catch(() => undefined);
  // The TAP's fd is the host shell's: closing the shell releases it.
  for (const s of [x, v, w, hostShell]) await s?.close().catch(() => undefined);
  await session.close();
});

describe('port security on a routed network\'s ports, with the real agent', () => {
  it('the ports are filtered in the inet and arp hooks by device name; there is no bridge', async () => {
    const routed = JSON.parse((await execa('ip', ['netns', 'exec', host(), NFT, '-j', 'list', 'set', 'inet', 'hostnet', 'routed-ports'])).stdout) as { nftables: Array<{ set?: { elem?: string[] } }> };
    expect(routed.nftables.find((i) => i.set)?.set?.elem?.sort()).toEqual(['hv-d', 'hv-v', 'hv-w', 'hv-x', 'tap-t']);
    expect((await execa('ip', ['netns', 'exec', host(), NFT, 'list', 'chain', 'arp', 'hostnet', 'input'])).stdout).toContain('iifname @protected jump anti-spoof');
    // No bridge anywhere: the devices are the host's own layer-3 interfaces.
    expect((await execa('ip', ['-n', host(), '-j', 'link', 'show', 'type', 'bridge'])).stdout.replace(/\s/g, '')).toMatch(/^(\[\])?$/);
    // The kernel's own reverse-path filter would drop forged sources by itself: it is off here,
    // so what drops them below is the firewall.
    const rp = await execa('ip', ['netns', 'exec', host(), 'sysctl', '-n', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.hv-x.rp_filter']);
    expect(rp.stdout.split('\n').map(Number)).toEqual([0, 0]);
  });

  it('security groups: x reaches v on TCP 8080 and by ping; w (not in clients) does not; the host does not; v\'s policy-in counter rises', async () => {
    expect(await x.eval(`tcp_probe(${py(V)}, 8080, 3)`)).toBe('v:probe');
    expect(await ping(xNs(), V)).toBe(true);
    const before = await counter('policy-in-v');
    expect(await w.eval(`tcp_probe(${py(V)}, 8080, 2)`)).toBe('timeout');
    expect(await ping(wNs(), V, { count: 1, waitS: 1 })).toBe(false);
    // From the host itself (the gateway address): the output hook finds v by its device.
    expect(await ping(host(), V, { count: 1, waitS: 1 })).toBe(false);
    expect(await counter('policy-in-v')).toBeGreaterThanOrEqual(before + 3);
    // x's ingress allows ICMP from anyone: the host and w reach it.
    expect(await ping(host(), X)).toBe(true);
    expect(await ping(wNs(), X)).toBe(true);
    // w has no ingress rule at all: even a member of nothing is refused TCP.
    expect(await x.eval(`tcp_probe(${py(W)}, 8080, 2)`)).toBe('timeout');
  });

  it('egress: x may not open TCP 9090 (only 8080): dropped at x and counted in policy-out-x; v never sees it', async () => {
    const before = await counter('policy-out-x');
    expect(await x.eval(`tcp_probe(${py(V)}, 9090, 2)`)).toBe('timeout');
    expect(await counter('policy-out-x')).toBeGreaterThan(before);
    // No IPv4 TCP segment to port 9090 reached v.
    expect(await v.eval<boolean>('any(f[12:14] == b"\\x08\\x00" and f[23] == 6 and f[36:38] == (9090).to_bytes(2, "big") for f in list(frames))')).toBe(false);
  });

  it('the legitimate frame passes: x\'s own MAC and address, to v and to the host', async () => {
    const before = await spoofCount('x');
    await sendFromX([toV(X, xMac, 'HN-LEGIT-V'), toHost(X, xMac, 'HN-LEGIT-HOST')]);
    await eventually('v and the host to receive the legitimate datagrams', async () => (await vSaw(hex('HN-LEGIT-V'))) && (await hostGot('HN-LEGIT-HOST')));
    expect(await spoofCount('x')).toBe(before);
  });

  it('a packet with another source MAC is dropped and counted', async () => {
    await expectDropped([toV(X, OTHER_MAC, 'HN-SPOOF-MAC-V'), toHost(X, OTHER_MAC, 'HN-SPOOF-MAC-HOST')], ['HN-SPOOF-MAC-V', 'HN-SPOOF-MAC-HOST']);
  });

  it('a packet with another source address (w\'s, an unused one, 0.0.0.0 but not DHCP) is dropped and counted', async () => {
    await expectDropped([
      toV(W, xMac, 'HN-SPOOF-IP-W'), toV('10.96.0.99', xMac, 'HN-SPOOF-IP-99'), toHost('192.0.2.7', xMac, 'HN-SPOOF-IP-HOST'), toHost('0.0.0.0', xMac, 'HN-SPOOF-ZERO'),
    ], ['HN-SPOOF-IP-W', 'HN-SPOOF-IP-99', 'HN-SPOOF-IP-HOST', 'HN-SPOOF-ZERO']);
  });

  it('DHCP server messages from the workload (UDP 67 -> 68) are dropped and counted', async () => {
    await expectDropped([
      `Ether(src=${py(xMac)}, dst="ff:ff:ff:ff:ff:ff")/IP(src=${py(X)}, dst="255.255.255.255")/UDP(sport=67, dport=68)`
      + `/BOOTP(op=2, xid=0x1234, yiaddr="10.96.0.150", siaddr=${py(X)}, sname=b"HN-SPOOF-OFFER")/DHCP(options=[("message-type", "offer"), ("server_id", ${py(X)}), "end"])`,
      `Ether(src=${py(xMac)}, dst=${py(gwMacX)})/IP(src=${py(X)}, dst=${py(V)})/UDP(sport=67, dport=68)/Raw("HN-SPOOF-OFFER-V")`,
    ], ['HN-SPOOF-OFFER', 'HN-SPOOF-OFFER-V']);
  });

  it('an IPv6 router advertisement from the workload is dropped and counted', async () => {
    const ll = await eventually('x has its link-local address', async () => {
      const a = JSON.parse(await inNetns(xNs(), ['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'])) as { addr_info: { local: string }[] }[];
      return a[0]?.addr_info[0]?.local;
    });
    await expectDropped([
      `Ether(src=${py(xMac)}, dst="33:33:00:00:00:01")/IPv6(src=${py(ll)}, dst="ff02::1", hlim=255)/ICMPv6ND_RA(routerlifetime=1800)`
      + `/ICMPv6NDOptPrefixInfo(prefix="fd66:5eed:5eed:5eed::", prefixlen=64, L=1, A=1)/ICMPv6NDOptSrcLLAddr(lladdr=${py(xMac)})`,
    ], []);
  });

  it('ARP with another sender address or sender MAC is dropped and counted: the host neither answers nor learns it', async () => {
    const arp = (hwsrc: string, psrc: string, etherSrc = xMac): string =>
      `Ether(src=${py(etherSrc)}, dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc=${py(hwsrc)}, psrc=${py(psrc)}, pdst=${py(GW)})`;
    const repliesTo = (psrc: string): Promise<boolean> =>
      // An ARP reply (op 2) of the host to `psrc`: sender GW, target psrc.
      x.eval<boolean>(`any(f[12:14] == b"\\x08\\x06" and f[20:22] == b"\\x00\\x02" and f[38:42] == bytes.fromhex(${py(ipv4Hex(psrc))}) for f in list(frames))`);
    await execa('ip', ['-n', host(), 'neigh', 'flush', 'dev', 'hv-x']);
    await expectDropped([arp(xMac, V), arp(OTHER_MAC, X), arp(xMac, X, OTHER_MAC), arp(xMac, '10.96.0.99')], []);
    expect(await repliesTo(V)).toBe(false);
    expect(await repliesTo('10.96.0.99')).toBe(false);
    const neigh = await hostNeighbours();
    expect(neigh.filter((n) => n.startsWith(`${V} `) || n.startsWith('10.96.0.99 ') || n.endsWith(OTHER_MAC))).toEqual([]);
    // The legitimate request and an address probe (sender 0.0.0.0) pass: the host answers the first.
    const before = await spoofCount('x');
    await x.run(`sendp(${arp(xMac, X)}, iface="eth0", verbose=False)\nsendp(${arp(xMac, '0.0.0.0')}, iface="eth0", verbose=False)`);
    await eventually('the host to answer x\'s own ARP request', () => repliesTo(X));
    expect(await spoofCount('x')).toBe(before);
    expect(await hostNeighbours()).toContain(`${X} ${xMac}`);
  });

  it('a VLAN-tagged frame is not routed to v nor delivered to the host', async () => {
    const before = await spoofCount('x');
    await sendFromX([
      `Ether(src=${py(xMac)}, dst=${py(gwMacX)})/Dot1Q(vlan=5)/IP(src=${py(X)}, dst=${py(V)})/UDP(sport=4000, dport=9)/Raw("HN-VLAN-V")`,
      `Ether(src=${py(xMac)}, dst=${py(gwMacX)})/Dot1Q(vlan=5)/IP(src=${py(X)}, dst=${py(GW)})/UDP(sport=4000, dport=9)/Raw("HN-VLAN-HOST")`,
    ]);
    expect(await vSaw(hex('HN-VLAN-V'))).toBe(false);
    expect(await hostGot('HN-VLAN-HOST')).toBe(false);
    // The kernel drops them before any IP hook (no VLAN device on a routed port): not counted.
    expect(await spoofCount('x')).toBe(before);
  });

  it('DHCP from 0.0.0.0 passes: d (protected, no address) gets a lease, then sends from it', async () => {
    const run = await DhcpClientRun.start('udhcpc', dNs(), 'eth0');
    dhcpClients.push(run);
    const lease = await run.waitLease(1, 30_000);
    expect(lease.ip).toMatch(/^10\.96\.0\.(10\d|110)$/);
    expect(await spoofCount('d')).toBe(0);
    // The client's script put the lease on the device; the default route as a distribution's would.
    await inNetns(dNs(), ['ip', 'route', 'replace', 'default', 'via', GW]);
    // The lease is an allowed source now (the agent added it before the ACK left) and x's
    // ingress allows ICMP from anyone.
    await eventually('d pings x from its leased address', () => ping(dNs(), X));
    expect(await spoofCount('d')).toBe(0);
  });

  it('a routed TAP: frames its guest writes with another MAC, source address or ARP sender are dropped and counted', async () => {
    const tapMac = (JSON.parse((await execa('ip', ['-n', host(), '-j', 'link', 'show', 'tap-t'])).stdout) as Array<{ address: string }>)[0]!.address;
    // The guest's end of the TAP: TUNSETIFF on the persistent device (IFF_TAP | IFF_NO_PI).
    await hostShell.run('load_scapy()\nglobal tap_fd\nimport fcntl\ntap_fd = os.open("/dev/net/tun", os.O_RDWR)\n'
      + 'fcntl.ioctl(tap_fd, 0x400454ca, struct.pack("16sH", b"tap-t", 0x0002 | 0x1000))');
    const frame = (mac: string, src: string, dst: string, text: string): string =>
      `Ether(src=${py(mac)}, dst=${py(tapMac)})/IP(src=${py(src)}, dst=${py(dst)})/UDP(sport=4000, dport=9)/Raw(${py(text)})`;
    const forged = [
      frame(OTHER_MAC, T, GW, 'HN-TAP-SPOOF-MAC'), frame(T_MAC, X, V, 'HN-TAP-SPOOF-IP'),
      `Ether(src=${py(T_MAC)}, dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc=${py(T_MAC)}, psrc=${py(V)}, pdst=${py(GW)})`,
    ];
    const before = await spoofCount('t');
    await eventually('the TAP has carrier', async () => !(await execa('ip', ['-n', host(), 'link', 'show', 'tap-t'])).stdout.includes('NO-CARRIER'));
    // The forged frames, then a legitimate one as the sentinel.
    await hostShell.run([...forged, frame(T_MAC, T, GW, 'HN-TAP-LEGIT')].map((f) => `os.write(tap_fd, bytes(${f}))`).join('\n'));
    await eventually('the host to receive the TAP guest\'s legitimate datagram', () => hostGot('HN-TAP-LEGIT'));
    await eventually('spoof-t and arp-spoof-t to count the forged frames', async () => (await spoofCount('t')) >= before + 3, 2000).catch(() => undefined);
    expect({ counted: (await spoofCount('t')) - before, host: await hostGot('HN-TAP-SPOOF-MAC'), v: await vSaw(hex('HN-TAP-SPOOF-IP')) })
      .toEqual({ counted: 3, host: false, v: false });
    expect(await hostNeighboursOf('tap-t')).not.toContain(`${V} ${T_MAC}`);
  });

  it('hostnetctl describe attachment x shows the spoofed drops (IP and ARP)', async () => {
    const d = await hostnetctl(session.socket, ['describe', 'attachment', 'x']);
    expect(d.exitCode, d.stderr).toBe(0);
    const spoofed = Number(/Dropped packets:\s+(\d+) spoofed/.exec(d.stdout)?.[1]);
    // 13 forged frames above (2 MAC, 4 address, 2 DHCP, 1 RA, 4 ARP), read from both tables.
    expect(spoofed).toBeGreaterThanOrEqual(13);
    expect(spoofed).toBeLessThanOrEqual(await spoofCount('x'));
  });

  it('an agent restart replaces the tables whole: the counters (inet and arp) carry over and forged frames are still dropped', async () => {
    const before = await counters();
    await session.agent!.stop();
    await session.boot(host());
    const after = await counters();
    for (const name of ['spoof-x', 'arp-spoof-x', 'policy-in-v', 'policy-out-x']) expect(after.get(name), name).toBeGreaterThanOrEqual(before.get(name)!);
    expect(before.get('arp-spoof-x')).toBeGreaterThan(0);
    await expectDropped([toV(W, xMac, 'HN-SPOOF-AFTER-RESTART'), `Ether(src=${py(xMac)}, dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc=${py(xMac)}, psrc=${py(V)}, pdst=${py(GW)})`],
      ['HN-SPOOF-AFTER-RESTART']);
  });
});
