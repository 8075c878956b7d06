// Port security anti-spoofing (issue 9) with the real hostnet-agent: a protected workload x
// sends forged frames with scapy (another source MAC, another source IPv4/IPv6 address, a
// gratuitous ARP for the gateway, an ARP reply with another sender MAC, a DHCPOFFER, an IPv6
// router advertisement, a neighbour advertisement for someone else's address, a VLAN tag).
// Each must reach neither a sniffer in the unprotected workload v nor one on the bridge in the
// agent's namespace, and must be counted in spoof-x. The legitimate versions (its own address,
// an allowed address pair, ARP for its own address, DHCP from 0.0.0.0) must pass.
// Ordering: after the forged frames x sends a broadcast sentinel from its own address; once the
// sentinel is seen on both sniffers and the counter has counted the forged frames, a forged
// frame that got through would have been seen too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETNS_RUN_DIR } from '../../dataplane/netns-path.js';
import { buildDist, hostnetctl } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually } from '../lib/agent-state.js';
import { DhcpClientRun } from '../lib/dhcp-clients.js';
import { useNetns } from '../lib/netns.js';
import { hex, inNetns, ipv4Hex, macHex, nftCounters, PyShell, py } from '../lib/port-security.js';
import { SpoofCheck } from '../lib/spoof-check.js';

const ns = useNetns(4, 'all', 'ps');
const host = (): string => ns[0]!;
const xNs = (): string => ns[1]!; // the protected sender
const vNs = (): string => ns[2]!; // an unprotected neighbour: the victim
const yNs = (): string => ns[3]!; // protected, takes its address from DHCP

const GW = '10.72.0.1';
const X = '10.72.0.10';
const PAIR = '10.72.0.200';
const V = '10.72.0.20';
const V6 = 'fd72::20';
const BRIDGE = 'hn-s';
const OTHER_MAC = '02:de:ad:be:ef:01';

const session = new AgentSession();
let x: PyShell;
let v: PyShell;
let hostSniffer: PyShell;
let xMac = '';
let xLinkLocal = '';
let vMac = '';
const dhcpClients: DhcpClientRun[] = [];

const STATE = (): string => JSON.stringify({
  generation: 1,
  networks: [{
    name: 's', ipFamily: 'IPV4', cidr: '10.72.0.0/24', gateway: GW, gatewayOnBridge: true,
    dhcp: { enabled: true, serverAddress: '10.72.0.2', pools: [{ start: '10.72.0.100', end: '10.72.0.110' }], leaseSeconds: 600 },
  }],
  // x may send and receive anything by policy: what is dropped from it is dropped by anti-spoofing.
  securityGroups: [
    { name: 'open', rules: [{ direction: 'INGRESS', protocol: 'ANY' }, { direction: 'EGRESS', protocol: 'ANY' }] },
    // No INGRESS rule: the DHCP server's answers must pass on their own.
    { name: 'out', rules: [{ direction: 'EGRESS', protocol: 'ANY' }] },
  ],
  attachments: [
    {
      name: 'x', network: 's', veth: { ifName: 'hv-x', peerNetns: `${NETNS_RUN_DIR}/${xNs()}`, peerIfName: 'eth0' }, ip: { static: X },
      portSecurity: { enabled: true, securityGroups: ['open'], allowedAddressPairs: [{ ip: PAIR }] },
    },
    { name: 'v', network: 's', veth: { ifName: 'hv-v', peerNetns: `${NETNS_RUN_DIR}/${vNs()}`, peerIfName: 'eth0' }, ip: { static: V } },
    {
      name: 'y', network: 's', veth: { ifName: 'hv-y', peerNetns: `${NETNS_RUN_DIR}/${yNs()}`, peerIfName: 'eth0' }, ip: { none: {} },
      portSecurity: { enabled: true, securityGroups: ['out'] },
    },
  ],
});

const spoofCount = async (): Promise<number> => (await nftCounters(host())).get('spoof-x') ?? 0;
const seenBy = (sh: PyShell, needle: string): Promise<boolean> => sh.eval<boolean>(`sniffed(${py(needle)})`);

/**
 * x sends python scapy frame expressions, then a broadcast sentinel; both sniffers (v and the
 * bridge) must see the sentinel. Forged frames are counted in spoof-x and seen by neither.
 */
const check = new SpoofCheck({
  sender: () => x,
  sentinels: (marker) => [`Ether(src=${py(xMac)}, dst="ff:ff:ff:ff:ff:ff")/IP(src=${py(X)}, dst="10.72.0.255")/UDP(sport=4000, dport=9)/Raw(${py(marker)})`],
  markerNeedle: hex,
  witnesses: () => [{ name: 'v', saw: (n) => seenBy(v, n) }, { name: 'the bridge', saw: (n) => seenBy(hostSniffer, n) }],
  counter: { name: 'spoof-x', read: spoofCount },
});
const sendFromX = (frames: string[]): Promise<void> => check.send(frames);
const expectDropped = (frames: string[], needles: string[]): Promise<void> => check.expectDropped(frames, needles);

/** Legitimate frames: v sees each needle, nothing counted as spoofing. */
async function expectDelivered(frames: string[], needles: string[]): Promise<void> {
  const before = await spoofCount();
  await sendFromX(frames);
  for (const n of needles) await eventually(`v to receive ${n}`, () => seenBy(v, n));
  expect(await spoofCount()).toBe(before);
}

beforeAll(async () => {
  await buildDist();
  await session.open('hostnet-e2e-ps-spoof-');
  await session.boot(host());
  await session.applyText(STATE(), 'json');
  for (const n of [xNs(), vNs(), yNs()]) await inNetns(n, ['ip', 'link', 'set', 'eth0', 'up']);
  await inNetns(xNs(), ['ip', 'addr', 'replace', `${X}/24`, 'dev', 'eth0']);
  await inNetns(vNs(), ['ip', 'addr', 'replace', `${V}/24`, 'dev', 'eth0']);
  await inNetns(vNs(), ['ip', 'addr', 'add', `${V6}/64`, 'dev', 'eth0', 'nodad']);
  [x, v, hostSniffer] = await Promise.all([PyShell.start(xNs(), 'x'), PyShell.start(vNs(), 'v'), PyShell.start(host(), 'host')]);
  await Promise.all([x.run('load_scapy()'), v.run('sniff_start("eth0")\nserve_tcp(80)'), hostSniffer.run(`sniff_start(${py(BRIDGE)})`)]);
  xMac = (await x.eval<string>('open("/sys/class/net/eth0/address").read().strip()')).toLowerCase();
  vMac = (await v.eval<string>('open("/sys/class/net/eth0/address").read().strip()')).toLowerCase();
  xLinkLocal = await eventually('x has its link-local address', async () => {
    const addrs = JSON.parse(await inNetns(xNs(), ['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'])) as { addr_info: { local: string }[] }[];
    return addrs[0]?.addr_info[0]?.local;
  });
}, 60_000);

afterAll(async () => {
  for (const c of dhcpClients) await c.stop().catch(() => undefined);
  for (const s of [x, v, hostSniffer]) await s?.close().catch(() => undefined);
  await session.close();
});

describe('anti-spoofing on a protected port, forged frames sent with scapy', () => {
  it('the legitimate frame passes: its own MAC and address', async () => {
    await expectDelivered([`Ether(src=${py(xMac)}, dst=${py(vMac)})/IP(src=${py(X)}, dst=${py(V)})/UDP(sport=4000, dport=9)/Raw("HN-LEGIT-OWN")`], [hex('HN-LEGIT-OWN')]);
  });

  it('a frame with another source MAC is dropped and counted', async () => {
    await expectDropped([`Ether(src=${py(OTHER_MAC)}, dst=${py(vMac)})/IP(src=${py(X)}, dst=${py(V)})/UDP(sport=4000, dport=9)/Raw("HN-SPOOF-MAC")`], [hex('HN-SPOOF-MAC')]);
  });

  it('an IPv4 packet with another source address is dropped and counted (IPv6 too)', async () => {
    await expectDropped([
      `Ether(src=${py(xMac)}, dst=${py(vMac)})/IP(src="10.72.0.99", dst=${py(V)})/UDP(sport=4000, dport=9)/Raw("HN-SPOOF-IP")`,
      `Ether(src=${py(xMac)}, dst=${py(vMac)})/IPv6(src="fd72::99", dst=${py(V6)})/UDP(sport=4000, dport=9)/Raw("HN-SPOOF-IP6")`,
    ], [hex('HN-SPOOF-IP'), hex('HN-SPOOF-IP6')]);
  });

  it('an allowed address pair is a legitimate source: forged and with real TCP', async () => {
    await expectDelivered([`Ether(src=${py(xMac)}, dst=${py(vMac)})/IP(src=${py(PAIR)}, dst=${py(V)})/UDP(sport=4000, dport=9)/Raw("HN-LEGIT-PAIR")`], [hex('HN-LEGIT-PAIR')]);
    await inNetns(xNs(), ['ip', 'addr', 'add', `${PAIR}/32`, 'dev', 'eth0']);
    // v answers ARP for the pair address too: x's ARP reply from it must pass as well.
    expect(await x.eval(`tcp_probe(${py(V)}, 80, 3, src=${py(PAIR)})`)).toBe('v:probe');
  });

  it('a gratuitous ARP claiming the gateway\'s address is dropped and counted', async () => {
    const garp = (op: number): string =>
      `Ether(src=${py(xMac)}, dst="ff:ff:ff:ff:ff:ff")/ARP(op=${op}, hwsrc=${py(xMac)}, psrc=${py(GW)}, hwdst="ff:ff:ff:ff:ff:ff", pdst=${py(GW)})`;
    await expectDropped([garp(1), garp(2)], [macHex(xMac) + ipv4Hex(GW)]);
  });

  it('an ARP reply with another sender MAC is dropped and counted', async () => {
    await expectDropped([`Ether(src=${py(xMac)}, dst=${py(vMac)})/ARP(op=2, hwsrc="02:de:ad:be:ef:02", psrc=${py(X)}, hwdst=${py(vMac)}, pdst=${py(V)})`],
      [macHex('02:de:ad:be:ef:02') + ipv4Hex(X)]);
  });

  it('ARP for its own address passes (a request and an address probe from 0.0.0.0)', async () => {
    await expectDelivered([
      `Ether(src=${py(xMac)}, dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc=${py(xMac)}, psrc=${py(X)}, pdst="10.72.0.77")`,
      `Ether(src=${py(xMac)}, dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc=${py(xMac)}, psrc="0.0.0.0", pdst="10.72.0.78")`,
    ], [macHex(xMac) + ipv4Hex(X) + '000000000000' + ipv4Hex('10.72.0.77'), macHex(xMac) + '00000000' + '000000000000' + ipv4Hex('10.72.0.78')]);
  });

  it('a DHCPOFFER (UDP 67 -> 68) is dropped and counted', async () => {
    await expectDropped([
      `Ether(src=${py(xMac)}, dst="ff:ff:ff:ff:ff:ff")/IP(src=${py(X)}, dst="255.255.255.255")/UDP(sport=67, dport=68)`
      + `/BOOTP(op=2, xid=0x1234, yiaddr="10.72.0.150", siaddr=${py(X)}, chaddr=bytes.fromhex(${py(macHex(vMac))}), sname=b"HN-SPOOF-OFFER")`
      + `/DHCP(options=[("message-type", "offer"), ("server_id", ${py(X)}), ("router", ${py(X)}), "end"])`,
    ], [hex('HN-SPOOF-OFFER')]);
  });

  it('an IPv6 router advertisement is dropped and counted (v configures no address from it)', async () => {
    await expectDropped([
      `Ether(src=${py(xMac)}, dst="33:33:00:00:00:01")/IPv6(src=${py(xLinkLocal)}, dst="ff02::1", hlim=255)/ICMPv6ND_RA(routerlifetime=1800)`
      + `/ICMPv6NDOptPrefixInfo(prefix="fd66:5eed:5eed:5eed::", prefixlen=64, L=1, A=1)/ICMPv6NDOptSrcLLAddr(lladdr=${py(xMac)})`,
    ], ['fd665eed5eed5eed']);
    expect(await inNetns(vNs(), ['ip', '-6', 'addr', 'show', 'dev', 'eth0'])).not.toContain('fd66:5eed');
  });

  it('a neighbour advertisement for someone else\'s address is dropped and counted', async () => {
    const target = 'fd720000000000000000000000000020'; // V6, what the NA claims
    await expectDropped([
      `Ether(src=${py(xMac)}, dst="33:33:00:00:00:01")/IPv6(src=${py(xLinkLocal)}, dst="ff02::1", hlim=255)/ICMPv6ND_NA(tgt=${py(V6)}, R=0, S=0, O=1)`
      + `/ICMPv6NDOptDstLLAddr(lladdr=${py(xMac)})`,
    ], [`20000000${target}`]);
  });

  it('VLAN-tagged frames are dropped and counted (IPv4 and ARP inside the tag)', async () => {
    await expectDropped([
      `Ether(src=${py(xMac)}, dst=${py(vMac)})/Dot1Q(vlan=5)/IP(src=${py(X)}, dst=${py(V)})/UDP(sport=4000, dport=9)/Raw("HN-SPOOF-VLAN")`,
      `Ether(src=${py(xMac)}, dst="ff:ff:ff:ff:ff:ff")/Dot1Q(vlan=5)/ARP(op=1, hwsrc=${py(xMac)}, psrc=${py(X)}, pdst="10.72.0.79")`,
    ], [hex('HN-SPOOF-VLAN'), macHex(xMac) + ipv4Hex(X) + '000000000000' + ipv4Hex('10.72.0.79')]);
  });

  it('DHCP from 0.0.0.0 is legitimate: a protected workload obtains a lease and then sends from it', async () => {
    const run = await DhcpClientRun.start('udhcpc', yNs(), 'eth0');
    dhcpClients.push(run);
    const lease = await run.waitLease(1, 10_000);
    expect(lease.ip).toMatch(/^10\.72\.0\.(10\d|110)$/);
    expect((await nftCounters(host())).get('spoof-y')).toBe(0);
    const y = await PyShell.start(yNs(), 'y');
    try {
      expect(await y.eval(`tcp_probe(${py(V)}, 80, 3)`)).toBe('v:probe');
    } finally {
      await y.close();
    }
  });

  it('hostnetctl describe attachment x shows the spoofed drops', async () => {
    const d = await hostnetctl(session.socket, ['describe', 'attachment', 'x']);
    expect(d.exitCode, d.stderr).toBe(0);
    const spoofed = Number(/Dropped packets:\s+(\d+) spoofed/.exec(d.stdout)?.[1]);
    expect(spoofed).toBeGreaterThanOrEqual(9);
    expect(d.stdout).toMatch(new RegExp(`Allowed addresses:.*${X.replace(/\./g, '\\.')}.*${PAIR.replace(/\./g, '\\.')}`));
  });
});
