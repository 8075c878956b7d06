// Router advertisements from dhcp/ra against real receivers: rdisc6 (ndisc6) shows every field,
// and the workload kernel's own SLAAC and router discovery take the prefix, the default route
// via the bridge's link-local address, the MTU and the route information. Final RAs remove the
// default route, a restart-style stop does not; an RS flood keeps the 3 s rate limit; RSs with
// hop limit 64 are ignored; a bridge without a link-local address yet is waited for.
//
// Topology (plain `ip`, not the code under test): namespace H with bridge brra (fd00:77::1/64)
// and veth port vhra0; namespace W with the other end, eth0, accepting RAs (accept_ra=2).
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RouterAdvertiser } from '../../dhcp/ra/advertiser.js';
import type { RaConfig } from '../../dhcp/ra/config.js';
import { NetnsPool } from '../../dataplane/testing/netns.js';
import { RaSniffer } from '../lib/ra-sniff.js';
import { waitFor } from '../lib/wait-for.js';

const pool = new NetnsPool('hra-');
const BRIDGE = 'brra';
let H = '';
let W = '';
const cleanups: (() => unknown)[] = [];

const CONFIG: RaConfig = {
  device: BRIDGE,
  prefix: 'fd00:77::/64',
  autonomous: true,
  managed: true,
  other: true,
  routerLifetimeSec: 1800,
  mtu: 1400,
  dnsServers: ['fd00:77::53', 'fd00:77::54'],
  searchDomains: ['v6.example', 'svc.v6.example'],
  routes: [{ prefix: 'fd00:99::/48', preference: 'high' }],
};

async function ipn(ns: string, args: string[]): Promise<string> {
  return (await execa('ip', ['-n', ns, ...args])).stdout;
}

async function sysctl(ns: string, settings: string[]): Promise<void> {
  await execa('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...settings]);
}

/**
 * H with the bridge (up when `bridgeUp`), W behind a veth port. `kernelSolicits` false: W's
 * kernel sends no RS of its own (it sends one once its link-local passes DAD, at a moment the
 * test does not control), so the test's own RSs are the only ones.
 */
async function topology(bridgeUp = true, kernelSolicits = true): Promise<void> {
  H = await pool.create({ label: 'host' });
  W = await pool.create({ label: 'wl' });
  await ipn(H, ['link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await ipn(H, ['addr', 'add', 'fd00:77::1/64', 'dev', BRIDGE]);
  // W learns everything from RAs: addresses (SLAAC), default route, MTU, route information.
  await sysctl(W, ['net.ipv6.conf.all.accept_ra=2', 'net.ipv6.conf.default.accept_ra=2', 'net.ipv6.conf.default.autoconf=1',
    'net.ipv6.conf.default.accept_ra_rt_info_max_plen=64', `net.ipv6.conf.default.router_solicitations=${kernelSolicits ? -1 : 0}`]);
  await ipn(H, ['link', 'add', 'vhra0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', W]);
  await ipn(H, ['link', 'set', 'vhra0', 'master', BRIDGE, 'up']);
  await ipn(W, ['link', 'set', 'eth0', 'up']);
  if (bridgeUp) await ipn(H, ['link', 'set', BRIDGE, 'up']);
  // rdisc6 and scapy send from W's link-local address: wait until it has passed DAD.
  await waitFor('W\'s link-local address', async () => {
    const [dev] = JSON.parse(await ipn(W, ['-j', '-6', 'addr', 'show', 'dev', 'eth0'])) as { addr_info: { scope: string; tentative?: boolean }[] }[];
    return dev?.addr_info.some((a) => a.scope === 'link' && !a.tentative) ? true : undefined;
  });
}

beforeEach(() => {
  H = '';
  W = '';
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  for (const ns of [H, W]) if (ns) await pool.destroy(ns);
});
afterAll(() => pool.destroyAll());

function advertiser(config: Partial<RaConfig> = {}): RouterAdvertiser {
  const a = new RouterAdvertiser({ netns: H, config: { ...CONFIG, ...config } });
  a.start();
  cleanups.push(() => a.stop({ final: false }));
  return a;
}

function sniffer(): RaSniffer {
  const s = RaSniffer.open(W);
  cleanups.push(() => s.close());
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The bridge's link-local address once DAD is done. */
async function bridgeLinkLocal(): Promise<string> {
  return waitFor('the bridge\'s link-local address', async () => {
    const [dev] = JSON.parse(await ipn(H, ['-j', '-6', 'addr', 'show', 'dev', BRIDGE])) as { addr_info: { local: string; scope: string; tentative?: boolean }[] }[];
    return dev?.addr_info.find((a) => a.scope === 'link' && !a.tentative)?.local;
  });
}

interface Route { dst: string; gateway?: string; dev: string; protocol?: string; pref?: string; metrics?: { mtu?: number }[] }

async function routes(): Promise<Route[]> {
  return JSON.parse(await ipn(W, ['-j', '-6', 'route', 'show'])) as Route[];
}

async function defaultRoute(): Promise<Route | undefined> {
  return (await routes()).find((r) => r.dst === 'default');
}

/**
 * Sends `count` RSs from W with scapy: IP hop limit `hlim`, from W's link-local address, spread
 * over `spreadMs` (0: at once).
 */
async function sendRs(count: number, hlim: number, spreadMs = 0): Promise<void> {
  const script = [
    'import socket, sys, time',
    'from scapy.all import Ether, IPv6, ICMPv6ND_RS, ICMPv6NDOptSrcLLAddr, get_if_hwaddr, raw',
    'n, hlim, src, spread = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4]) / 1000',
    'mac = get_if_hwaddr("eth0")',
    'p = raw(Ether(src=mac, dst="33:33:00:00:00:02")/IPv6(src=src, dst="ff02::2", hlim=hlim)/ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=mac))',
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("eth0", 0))',
    't0 = time.monotonic()',
    'for i in range(n):',
    '  s.send(p)',
    '  delay = t0 + spread * (i + 1) / n - time.monotonic()',
    '  if delay > 0: time.sleep(delay)',
  ].join('\n');
  const [dev] = JSON.parse(await ipn(W, ['-j', '-6', 'addr', 'show', 'dev', 'eth0'])) as { addr_info: { local: string; scope: string }[] }[];
  const src = dev!.addr_info.find((a) => a.scope === 'link')!.local;
  await execa('ip', ['netns', 'exec', W, '/usr/bin/python3', '-c', script, String(count), String(hlim), src, String(spreadMs)]);
}

describe('router advertisements (dhcp/ra) with real receivers', () => {
  it('rdisc6 shows every field; the workload kernel forms a SLAAC address and a default route via the bridge\'s link-local', async () => {
    await topology();
    const ll = await bridgeLinkLocal();
    const a = advertiser();
    // rdisc6 solicits and prints the first RA it gets (the answer comes within the 3 s rate limit).
    const out = (await execa('ip', ['netns', 'exec', W, 'rdisc6', '-1', '-w', '4000', 'eth0'])).stdout;
    const field = (name: string): string => {
      const line = out.split('\n').find((l) => l.trim().startsWith(name));
      if (!line) throw new Error(`rdisc6 printed no "${name}":\n${out}`);
      return line.slice(line.indexOf(':') + 1).trim();
    };
    expect(field('Hop limit')).toMatch(/^64 /);
    expect(field('Stateful address conf.')).toBe('Yes');
    expect(field('Stateful other conf.')).toBe('Yes');
    expect(field('Router lifetime')).toMatch(/^1800 /);
    expect(field('Source link-layer address').toLowerCase()).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(field('MTU')).toBe('1400 bytes (valid)');
    expect(field('Prefix')).toBe('fd00:77::/64');
    expect(field('On-link')).toBe('Yes');
    expect(field('Autonomous address conf.')).toBe('Yes');
    expect(field('Valid time')).toMatch(/^86400 /);
    expect(field('Pref. time')).toMatch(/^14400 /);
    expect(field('Route ')).toBe('fd00:99::/48');
    expect(field('Route preference')).toBe('high');
    expect(field('Route lifetime')).toMatch(/^1800 /);
    expect(out.split('\n').filter((l) => l.includes('Recursive DNS server')).map((l) => l.split(':').slice(1).join(':').trim())).toEqual(['fd00:77::53', 'fd00:77::54']);
    expect(field('DNS servers lifetime')).toMatch(/^1800 /);
    expect(field('DNS search list ').split(/\s+/)).toEqual(['v6.example', 'svc.v6.example']);
    expect(field('DNS search list lifetime')).toMatch(/^1800 /);
    expect(out).toContain(`from ${ll}`);
    expect(a.counters.solicitations).toBeGreaterThanOrEqual(1);
    expect(a.source).toBe(ll);

    // The workload's kernel: a SLAAC address in the prefix, the default route via the bridge's
    // link-local (learned from the RA), the MTU, and the route information option's route.
    const slaac = await waitFor('a SLAAC address in fd00:77::/64', async () => {
      const [dev] = JSON.parse(await ipn(W, ['-j', '-6', 'addr', 'show', 'dev', 'eth0'])) as { addr_info: { local: string; scope: string; dynamic?: boolean; tentative?: boolean }[] }[];
      return dev?.addr_info.find((x) => x.scope === 'global' && x.local.startsWith('fd00:77:') && x.dynamic && !x.tentative)?.local;
    });
    expect(slaac).toMatch(/^fd00:77::/);
    const def = await waitFor('the default route', defaultRoute);
    expect(def).toMatchObject({ gateway: ll, dev: 'eth0', protocol: 'ra' });
    const mtu = (await execa('ip', ['netns', 'exec', W, 'sysctl', '-n', 'net.ipv6.conf.eth0.mtu'])).stdout.trim();
    expect(mtu).toBe('1400');
    const rt = await waitFor('the fd00:99::/48 route', async () => (await routes()).find((r) => r.dst === 'fd00:99::/48'));
    expect(rt).toMatchObject({ gateway: ll, pref: 'high', protocol: 'ra' });
    // The workload reaches the bridge's global address through what it learned.
    await execa('ip', ['netns', 'exec', W, 'ping', '-6', '-c', '1', '-W', '2', 'fd00:77::1']);
  });

  it('stop({ final: false }) (an agent restart) leaves the default route; stop({ final: true }) removes it at once, addresses stay', async () => {
    await topology();
    const ll = await bridgeLinkLocal();
    const intervals = { minDelayBetweenRasMs: 1000 };
    const first = advertiser({ intervals });
    await waitFor('the default route', async () => ((await defaultRoute())?.gateway === ll ? true : undefined));
    const sniff = sniffer();
    await first.stop({ final: false });
    await sleep(1500);
    expect(sniff.seen).toEqual([]); // no final RA
    expect(await defaultRoute()).toMatchObject({ gateway: ll });

    // The restarted agent's advertiser picks up where the first left off.
    const second = advertiser({ intervals });
    await waitFor('an RA from the restarted advertiser', () => (sniff.seen.length > 0 ? true : undefined));
    expect(sniff.seen[0]!.routerLifetimeSec).toBe(1800);
    const before = sniff.seen.length;
    const t0 = Date.now();
    await second.stop({ final: true });
    await waitFor('three final RAs', () => (sniff.seen.length >= before + 3 ? true : undefined), 2000);
    await sleep(500);
    const finals = sniff.seen.slice(before);
    expect(finals.map((r) => r.routerLifetimeSec)).toEqual([0, 0, 0]);
    expect(finals.every((r) => r.source === ll && r.destination === 'ff02::1' && r.ipHopLimit === 255)).toBe(true);
    // spaced by the rate limit (1 s here): two gaps
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    await waitFor('the default route to go', async () => ((await defaultRoute()) === undefined ? true : undefined), 3000);
    // Prefix lifetimes were kept: the SLAAC address and the on-link prefix stay.
    const [dev] = JSON.parse(await ipn(W, ['-j', '-6', 'addr', 'show', 'dev', 'eth0'])) as { addr_info: { local: string; scope: string }[] }[];
    expect(dev!.addr_info.some((x) => x.scope === 'global' && x.local.startsWith('fd00:77:'))).toBe(true);
    expect(second.state).toBe('stopped');
  });

  it('an RS flood (1000) keeps one multicast RA per 3 s, and a good client is still answered', async () => {
    await topology();
    await bridgeLinkLocal();
    const a = advertiser();
    const sniff = sniffer();
    // Let the first RA of the initial burst pass, then flood.
    await waitFor('the first RA', () => (a.counters.sent >= 1 ? true : undefined));
    const start = Date.now();
    // 1000 RSs over 7 s: without the limit that would be about 1000 answers.
    await sendRs(1000, 255, 7000);
    await sleep(1000);
    const window = sniff.seen.filter((r) => r.at >= start);
    const gaps = window.slice(1).map((r, i) => r.at - window[i]!.at);
    // Receive times jitter by a few ms around the sender's 3 s spacing.
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(2950);
    const elapsed = Date.now() - start;
    expect(window.length).toBeGreaterThanOrEqual(2);
    expect(window.length).toBeLessThanOrEqual(Math.floor(elapsed / 3000) + 1);
    expect(a.counters.solicitations).toBeGreaterThanOrEqual(990);
    expect(a.counters.invalidDropped).toBe(0);
    expect(a.counters.sendErrors).toBe(0);
    // Still serving: rdisc6 gets an answer.
    const out = (await execa('ip', ['netns', 'exec', W, 'rdisc6', '-1', '-w', '4000', 'eth0'])).stdout;
    expect(out).toContain('fd00:77::/64');
    console.log(`RS flood: ${a.counters.solicitations} RSs counted, ${window.length} RAs in ${elapsed} ms, gaps ${gaps.join(', ')} ms`);
  });

  it('an RS with hop limit 64 is ignored (counted as invalid); one with 255 is answered', async () => {
    await topology(true, false);
    await bridgeLinkLocal();
    // Unsolicited RAs far apart: after the first, only solicited ones go out.
    const a = advertiser({ intervals: { maxIntervalMs: 600_000, maxInitialIntervalMs: 600_000 } });
    const sniff = sniffer();
    await waitFor('the first RA', () => (a.counters.sent >= 1 ? true : undefined));
    await sleep(3200); // past the rate limit
    const seen = sniff.seen.length;
    await sendRs(1, 64);
    await waitFor('the RS to be dropped', () => (a.counters.invalidDropped >= 1 ? true : undefined));
    await sleep(1000);
    expect(sniff.seen.length).toBe(seen);
    expect(a.counters.solicitations).toBe(0);
    await sendRs(1, 255);
    await waitFor('an answer', () => (sniff.seen.length > seen ? true : undefined), 2000);
    expect(a.counters).toMatchObject({ solicitations: 1, invalidDropped: 1, sent: 2 });
  });

  it('waits while the bridge has no usable link-local address, then advertises from it', async () => {
    await topology(false); // bridge down: no link-local address yet
    const sniff = sniffer();
    const a = advertiser({ intervals: { linkLocalRetryMs: 200 } });
    await sleep(1000);
    expect(a.state).toBe('waiting-for-link-local');
    expect(a.counters.linkLocalWaits).toBeGreaterThanOrEqual(3);
    expect(a.counters.sent).toBe(0);
    expect(sniff.seen).toEqual([]);
    await ipn(H, ['link', 'set', BRIDGE, 'up']);
    const ra = await waitFor('the first RA', () => sniff.seen[0], 10_000);
    const ll = await bridgeLinkLocal();
    expect(ra.source).toBe(ll);
    expect(a.state).toBe('advertising');
    await waitFor('the default route', async () => ((await defaultRoute())?.gateway === ll ? true : undefined));
  });

  it('reconfigure sends the change at once without reopening; the workload takes the new MTU', async () => {
    await topology();
    await bridgeLinkLocal();
    const a = advertiser();
    await waitFor('MTU 1400 in the workload', async () => ((await execa('ip', ['netns', 'exec', W, 'sysctl', '-n', 'net.ipv6.conf.eth0.mtu'])).stdout.trim() === '1400' ? true : undefined));
    const sniff = sniffer();
    expect(a.reconfigure({ ...CONFIG })).toBe(false); // nothing changed: nothing sent
    expect(a.reconfigure({ ...CONFIG, mtu: 1350 })).toBe(true);
    const ra = await waitFor('an RA with MTU 1350', () => sniff.seen.find((r) => r.mtu === 1350), 4000);
    expect(ra.routerLifetimeSec).toBe(1800);
    await waitFor('MTU 1350 in the workload', async () => ((await execa('ip', ['netns', 'exec', W, 'sysctl', '-n', 'net.ipv6.conf.eth0.mtu'])).stdout.trim() === '1350' ? true : undefined));
    expect(() => a.reconfigure({ ...CONFIG, device: 'other0' })).toThrow(/device is fixed/);
    expect(() => a.reconfigure({ ...CONFIG, prefix: 'fd00:77::/56' })).toThrow(/needs a \/64/);
    expect(a.config.mtu).toBe(1350);
  });

  it('a bridge deleted and made again (drift repair): the socket follows it and advertises at once', async () => {
    await topology();
    await bridgeLinkLocal();
    const a = advertiser({ intervals: { deviceCheckMs: 300, linkLocalRetryMs: 200 } });
    await waitFor('the first RA', () => (a.counters.sent >= 1 ? true : undefined));
    await ipn(H, ['link', 'del', BRIDGE]);
    await sleep(700);
    const sniff = sniffer();
    await ipn(H, ['link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await ipn(H, ['link', 'set', 'vhra0', 'master', BRIDGE]);
    await ipn(H, ['link', 'set', BRIDGE, 'up']);
    const ll = await bridgeLinkLocal();
    const ra = await waitFor('an RA on the new bridge', () => sniff.seen.find((r) => r.source === ll), 10_000);
    expect(ra.routerLifetimeSec).toBe(1800);
    expect(a.counters.reopened).toBe(1);
    expect(a.counters.sendErrors).toBe(0);
    // and it hears solicitations on the new bridge
    const before = a.counters.solicitations;
    await sendRs(1, 255);
    await waitFor('the RS on the new bridge', () => (a.counters.solicitations > before ? true : undefined), 3000);
  });
});
