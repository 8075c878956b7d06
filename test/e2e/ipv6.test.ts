// IPv6 with the real hostnet-agent (issue 10): the issue's YAML as written (a DHCPv6-stateful
// network), real clients in workload namespaces (ISC dhclient -6 stateful and -S stateless,
// dhcpcd -6, the kernel's SLAAC and router discovery), reservations by the MAC in the client's
// DUID for static and auto IPv6 addresses, a dual-stack network, and a kill -9 of the agent
// during a burst of DHCPv6 clients. One agent for the file; every apply carries everything so
// far. Witnesses: `ip -n POD -j addr|route`, ping -6, rdisc6, the clients' own events and lease
// files, ListLeases/GetStatus and hostnetctl.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionStatus, LeaseState } from '../../agent/api/gen/hostnet/v1/status.js';
import { NetnsPool } from '../../dataplane/testing/netns.js';
import { deriveAttachmentMac } from '../../agent/naming.js';
import { buildDist, hostnetctl, rpc } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually, veth } from '../lib/agent-state.js';
import { BOUND6, Dhclient6 } from '../lib/dhclient6.js';
import { startDhcpcd6 } from '../lib/dhcpcd6.js';
import { ISSUE_YAML } from '../lib/issue-ipv6.js';

const STATELESS = {
  name: 'v6s', ipFamily: 'IPV6', cidr: 'fd00:78::/64', gateway: 'fd00:78::1', gatewayOnBridge: true, ipv6Mode: 'DHCPV6_STATELESS',
  dhcp: { enabled: true, dnsServers: ['fd00:78::53', 'fd00:78::54'], searchDomains: ['v6s.example', 'svc.v6s.example'] },
};

const DUAL = {
  name: 'ds', ipFamily: 'IPV4', cidr: '10.86.1.0/24', gateway: '10.86.1.1', gatewayOnBridge: true,
  dhcp: { enabled: true, serverAddress: '10.86.1.2', pools: [{ start: '10.86.1.100', end: '10.86.1.150' }] },
  ipv6: { cidr: 'fd00:86::/64', gateway: 'fd00:86::1', gatewayOnBridge: true, ipv6Mode: 'SLAAC', dhcp: { pools: [{ start: 'fd00:86::100', end: 'fd00:86::1ff' }] } },
};

const STATIC6 = 'fd00:77::42';
const inV6Pool = (ip: string | undefined): boolean => !!ip && /^fd00:77::1[0-9a-f]{2}$/.test(ip);

const pool = new NetnsPool('h6e-');
let host = '';
const session = new AgentSession();
const networks: Record<string, unknown>[] = [];
const attachments: Record<string, unknown>[] = [];
const dhclients: Dhclient6[] = [];
const procs: ResultPromise[] = [];

interface Addr6 { local: string; prefixlen: number; scope: string; dynamic?: boolean; protocol?: string; family: string }
interface Route { dst: string; gateway?: string; dev: string; protocol?: string }

async function addrs(netns: string, dev = 'net1'): Promise<Addr6[]> {
  const j = JSON.parse((await execa('ip', ['-n', netns, '-j', 'addr', 'show', 'dev', dev])).stdout || '[]') as { addr_info: Addr6[] }[];
  return j.flatMap((l) => l.addr_info);
}
async function routes6(netns: string): Promise<Route[]> {
  return JSON.parse((await execa('ip', ['-n', netns, '-j', '-6', 'route', 'show'])).stdout || '[]') as Route[];
}
const ping = async (netns: string, ip: string): Promise<number | undefined> =>
  (await execa('ip', ['netns', 'exec', netns, 'ping', ...(ip.includes(':') ? ['-6'] : []), '-c', '1', '-W', '2', ip], { reject: false })).exitCode;

/** A workload namespace whose kernel takes RAs (or not); DAD off so dhclient can bind at once. */
async function pod(label: string, acceptRa = true): Promise<string> {
  const p = await pool.create({ label });
  const ra = acceptRa ? '1' : '0';
  await execa('ip', ['netns', 'exec', p, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
    `net.ipv6.conf.all.accept_ra=${ra}`, `net.ipv6.conf.default.accept_ra=${ra}`, `net.ipv6.conf.default.autoconf=${ra}`,
    'net.ipv6.conf.default.accept_ra_rt_info_max_plen=64']);
  return p;
}

async function waitLinkLocal(netns: string, dev = 'net1'): Promise<void> {
  await eventually(`a link-local address on ${netns}/${dev}`, async () => (await addrs(netns, dev).catch(() => [])).some((a) => a.local.startsWith('fe80:')), 15_000);
}

const applyText = (text: string): Promise<void> => session.applyText(text);
const apply = (): Promise<void> => session.apply({ networks, attachments });

async function dhclient(netns: string, opts: { configure?: boolean } = {}): Promise<Dhclient6> {
  const c = await Dhclient6.create(netns, 'net1', opts);
  dhclients.push(c);
  return c;
}

/**
 * Ends a client by its pid: SIGTERM first (dhcpcd's manager then stops its privilege-separated
 * helpers, which SIGKILL would orphan, holding our output pipe open), SIGKILL after 5 s.
 */
async function stopProc(p: ResultPromise): Promise<void> {
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 5000);
  await p.catch(() => undefined);
  clearTimeout(t);
}

const condition = (network: string, type: string) => session.condition('networks', network, type);
const leases = async () => (await rpc(session.client, session.client.listLeases, { network: '' })).leases;
const boot = async (): Promise<void> => { await session.boot(host); };

beforeAll(async () => {
  await buildDist();
  host = await pool.create({ label: 'host' });
  await session.open('hostnet-e2e-ipv6-', 'agent.sock');
  await boot();
}, 120_000);

afterAll(async () => {
  for (const c of dhclients) await c.remove().catch(() => undefined);
  for (const p of procs) await stopProc(p);
  await session.stop();
  await rm('/var/lib/dhcpcd/h6edc0.lease6', { force: true });
  await session.close();
  await pool.destroyAll();
}, 120_000);

describe('IPv6 with the agent', () => {
  let w1 = '';
  let w1Ip = '';

  it('the issue\'s YAML as written: dhclient -6 gets a pool address, the RA gives the default route (M flag), ping -6 the gateway', async () => {
    w1 = await pod('w1');
    // The YAML text itself, with one attachment (no ip config) appended.
    await applyText(`${ISSUE_YAML}attachments:\n  - name: w1\n    network: v6\n    veth: { ifName: h6e-w1, peerNetns: ${w1}, peerIfName: net1 }\n`);
    networks.push(...(YAML.parse(ISSUE_YAML) as { networks: Record<string, unknown>[] }).networks);
    attachments.push(veth('w1', 'v6', 'h6e-w1', w1));
    await eventually('Dhcpv6Serving True', async () => (await condition('v6', 'Dhcpv6Serving'))?.status === ConditionStatus.CONDITION_STATUS_TRUE, 15_000);
    await eventually('RouterAdvertising True', async () => (await condition('v6', 'RouterAdvertising'))?.status === ConditionStatus.CONDITION_STATUS_TRUE, 15_000);
    await waitLinkLocal(w1);

    const c = await dhclient(w1);
    c.start();
    const ev = await c.waitEvent(BOUND6);
    w1Ip = ev.env['new_ip6_address'] ?? '';
    expect(inV6Pool(w1Ip), `dhclient got "${w1Ip}"`).toBe(true);
    expect(ev.env['new_dhcp6_name_servers']).toBe('fd00:77::53');
    expect(ev.env['new_dhcp6_domain_search']?.trim()).toBe('v6.example.');
    expect(ev.env['new_preferred_life']).toBe('3600');
    await eventually(`${w1Ip} on ${w1}/net1`, async () => (await addrs(w1)).some((a) => a.local === w1Ip));

    const def = await eventually('a default route from the RA', async () => (await routes6(w1)).find((r) => r.dst === 'default' && r.protocol === 'ra'), 15_000);
    expect(def.gateway).toMatch(/^fe80::/);
    expect(def.dev).toBe('net1');
    const rdisc = (await execa('ip', ['netns', 'exec', w1, 'rdisc6', '-1', '-w', '2000', 'net1'])).stdout;
    expect(rdisc).toMatch(/Stateful address conf\.\s*:\s*Yes/);
    expect(rdisc).toMatch(/Stateful other conf\.\s*:\s*Yes/);
    expect(rdisc).toMatch(/Prefix\s*:\s*fd00:77::\/64/);
    expect(await ping(w1, 'fd00:77::1')).toBe(0);
  });

  it('the lease in hostnetctl get leases, the attachment in get ips, both conditions True', async () => {
    const ls = await hostnetctl(session.socket, ['get', 'leases']);
    expect(ls.stdout).toMatch(new RegExp(`v6\\s+${w1Ip}\\s+${deriveAttachmentMac('w1')}\\s+\\S+\\s+BOUND\\s`));
    const ips = await hostnetctl(session.socket, ['get', 'ips', '--network', 'v6']);
    expect(ips.stdout).toMatch(new RegExp(`v6\\s+${w1Ip}\\s+\\S+\\s+w1\\s`));
    expect(await condition('v6', 'RouterAdvertising')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE });
    expect(await condition('v6', 'Dhcpv6Serving')).toMatchObject({ status: ConditionStatus.CONDITION_STATUS_TRUE });
  });

  it('static and auto IPv6 addresses: the agent puts them on the interface and dhclient -6 gets the same (reservation by the MAC in its DUID)', async () => {
    const ps = await pod('st');
    const pa = await pod('au');
    attachments.push(veth('st6', 'v6', 'h6e-st6', ps, 'net1', { ip: { static: STATIC6 } }), veth('au6', 'v6', 'h6e-au6', pa, 'net1', { ip: { auto: {} } }));
    await apply();
    const auto = await eventually('au6\'s auto address', async () => (await session.status()).attachments.find((a) => a.name === 'au6')?.ip || undefined);
    expect(inV6Pool(auto), `auto address "${auto}"`).toBe(true);
    expect(auto).not.toBe(w1Ip);
    for (const [p, ip, name] of [[ps, STATIC6, 'st6'], [pa, auto, 'au6']] as const) {
      const onIf = await eventually(`${ip} put on ${p}/net1 by the agent`, async () => (await addrs(p)).find((a) => a.local === ip));
      expect(onIf.prefixlen).toBe(64);
      const link = JSON.parse((await execa('ip', ['-n', p, '-j', 'link', 'show', 'dev', 'net1'])).stdout) as { address: string }[];
      expect(link[0]!.address).toBe(deriveAttachmentMac(name));
      await waitLinkLocal(p);
      // Record only: the address is the agent's on this interface.
      const c = await dhclient(p, { configure: false });
      c.start();
      const ev = await c.waitEvent(BOUND6);
      expect(ev.env['new_ip6_address'], `dhclient -6 in the pod of ${name}`).toBe(ip);
      expect(await c.leasedAddresses()).toEqual([ip]);
    }
    const ls = await leases();
    expect(ls.find((l) => l.ip === STATIC6)).toMatchObject({ network: 'v6', mac: deriveAttachmentMac('st6'), state: LeaseState.LEASE_STATE_BOUND });
    expect(ls.find((l) => l.ip === auto)).toMatchObject({ network: 'v6', mac: deriveAttachmentMac('au6'), state: LeaseState.LEASE_STATE_BOUND });
  });

  it('dhcpcd -6 against the stateful network gets an address from the pool', async () => {
    const ifname = 'h6edc0';
    const p = await pod('dc');
    attachments.push(veth('dc6', 'v6', 'h6e-dc6', p, ifname));
    await apply();
    await waitLinkLocal(p, ifname);
    const dc = await startDhcpcd6(p, ifname, session.dir, { solicitRouters: false, iaNa: true });
    const proc = dc.proc;
    procs.push(proc);
    const env = await dc.waitEnv('dhcpcd BOUND6', /^HN_REASON=BOUND6$/m);
    const ip = /^new_dhcp6_ia_na1_ia_addr1='?([0-9a-f:]+)'?$/m.exec(env)?.[1];
    expect(inV6Pool(ip), `dhcpcd got "${ip}"`).toBe(true);
    expect(/^new_dhcp6_name_servers='?([^'\n]*)'?$/m.exec(env)?.[1]).toBe('fd00:77::53');
    await eventually(`${ip} on ${p}/${ifname}`, async () => (await addrs(p, ifname)).some((a) => a.local === ip));
    expect((await leases()).find((l) => l.ip === ip)).toMatchObject({ network: 'v6', state: LeaseState.LEASE_STATE_BOUND });
    await stopProc(proc);
    procs.splice(procs.indexOf(proc), 1);
    await rm(`/var/lib/dhcpcd/${ifname}.lease6`, { force: true });
  });

  it('DHCPV6_STATELESS: dhclient -6 -S gets DNS and the search list, SLAAC forms the address', async () => {
    const p = await pod('sl');
    networks.push(STATELESS);
    attachments.push(veth('sl6', 'v6s', 'h6e-sl6', p));
    await apply();
    await eventually('Dhcpv6Serving True on v6s', async () => (await condition('v6s', 'Dhcpv6Serving'))?.status === ConditionStatus.CONDITION_STATUS_TRUE, 15_000);
    const slaac = await eventually('a SLAAC address in fd00:78::/64', async () =>
      (await addrs(p)).find((a) => a.scope === 'global' && a.local.startsWith('fd00:78:') && a.prefixlen === 64 && a.dynamic), 20_000);
    expect(slaac.local).not.toBe('fd00:78::1');
    const rdisc = (await execa('ip', ['netns', 'exec', p, 'rdisc6', '-1', '-w', '2000', 'net1'])).stdout;
    expect(rdisc).toMatch(/Stateful address conf\.\s*:\s*No/);
    expect(rdisc).toMatch(/Stateful other conf\.\s*:\s*Yes/);
    expect(rdisc).toMatch(/Autonomous address conf\.\s*:\s*Yes/);
    const c = await dhclient(p);
    c.start('stateless');
    const ev = await c.waitEvent(BOUND6);
    expect(ev.env['new_dhcp6_name_servers']?.split(' ')).toEqual(['fd00:78::53', 'fd00:78::54']);
    expect(ev.env['new_dhcp6_domain_search']?.trim().split(/\s+/)).toEqual(['v6s.example.', 'svc.v6s.example.']);
    expect(ev.env['new_ip6_address'] ?? '').toBe('');
    // The client's own output: an Information-Request answered by a Reply, no address asked for.
    expect(c.output.join(''), c.output.join('')).toMatch(/Reply message on/);
    expect(await c.leasedAddresses()).toEqual([]);
    expect((await leases()).filter((l) => l.network === 'v6s')).toEqual([]);
  });

  it('dhcpcd -6 against the stateless network: the O flag of the RA makes it ask for DNS and the search list only', async () => {
    const ifname = 'h6edc1';
    const p = await pod('dcs');
    attachments.push(veth('dcs6', 'v6s', 'h6e-dcs6', p, ifname));
    await apply();
    await waitLinkLocal(p, ifname);
    // Router solicitation on (dhcpcd follows the RA's flags: O set, M clear), no IA asked for.
    const dc = await startDhcpcd6(p, ifname, session.dir, { solicitRouters: true, iaNa: false });
    const proc = dc.proc;
    procs.push(proc);
    const env = await dc.waitEnv('dhcpcd: DNS from an Information-Request', /^new_dhcp6_name_servers=/m);
    expect(/^new_dhcp6_name_servers='?([^'\n]*)'?$/m.exec(env)?.[1]?.split(' ')).toEqual(['fd00:78::53', 'fd00:78::54']);
    expect(env).not.toMatch(/^new_dhcp6_ia_na1_ia_addr1=/m);
    expect((await leases()).filter((l) => l.network === 'v6s')).toEqual([]);
    await stopProc(proc);
    procs.splice(procs.indexOf(proc), 1);
    await rm(`/var/lib/dhcpcd/${ifname}.lease6`, { force: true });
  });

  it('dual-stack: IPv4 from the agent and IPv6 by SLAAC, or both from the agent; each pod pings both gateways', async () => {
    const pa = await pod('dsa');
    const pb = await pod('dsb', false);
    networks.push(DUAL);
    attachments.push(
      veth('dsa', 'ds', 'h6e-dsa', pa, 'net1', { ip: { auto: {} } }),
      veth('dsb', 'ds', 'h6e-dsb', pb, 'net1', { ip: { auto: {}, addresses: [{ auto: {}, family: 'IPV6' }] } }),
    );
    await apply();
    const status = await eventually('dsb\'s two auto addresses', async () => {
      const s = await session.status();
      return (s.attachments.find((a) => a.name === 'dsb')?.addresses.length ?? 0) >= 2 ? s : undefined;
    });
    const sa = status.attachments.find((a) => a.name === 'dsa')!;
    const sb = status.attachments.find((a) => a.name === 'dsb')!;
    const v4a = sa.addresses.map((a) => a.ip).find((ip) => ip.startsWith('10.86.1.'));
    const v4b = sb.addresses.map((a) => a.ip).find((ip) => ip.startsWith('10.86.1.'));
    const v6b = sb.addresses.map((a) => a.ip).find((ip) => /^fd00:86::1[0-9a-f]{2}$/.test(ip));
    expect(v4a && v4b && v6b, JSON.stringify(sb.addresses)).toBeTruthy();
    await eventually(`${v4a} on dsa's net1`, async () => (await addrs(pa)).some((a) => a.local === v4a && a.prefixlen === 24));
    const slaac = await eventually('a SLAAC address in fd00:86::/64 in dsa', async () =>
      (await addrs(pa)).find((a) => a.family === 'inet6' && a.local.startsWith('fd00:86:') && a.dynamic), 20_000);
    expect(sa.addresses.map((a) => a.ip)).not.toContain(slaac.local);
    await eventually(`${v4b} and ${v6b} on dsb's net1`, async () => {
      const a = await addrs(pb);
      return a.some((x) => x.local === v4b) && a.some((x) => x.local === v6b && x.prefixlen === 64);
    });
    // dsb takes no RAs: its IPv6 is the agent's only.
    expect((await addrs(pb)).filter((a) => a.family === 'inet6' && a.scope === 'global').map((a) => a.local)).toEqual([v6b]);
    await eventually('an IPv6 default route in dsb', async () => (await routes6(pb)).find((r) => r.dst === 'default'));
    for (const p of [pa, pb]) {
      expect(await ping(p, '10.86.1.1'), `ping 10.86.1.1 from ${p}`).toBe(0);
      await eventually(`ping -6 fd00:86::1 from ${p}`, async () => (await ping(p, 'fd00:86::1')) === 0, 10_000);
    }
    const ips = (await hostnetctl(session.socket, ['get', 'ips', '--network', 'ds'])).stdout;
    expect(ips).toMatch(/ds\s+10\.86\.1\.0\/24\s+/);
    expect(ips).toMatch(/ds\s+fd00:86::\/64\s+/);
  });

  it('kill -9 during a burst of 20 dhclient -6: every address a client got is a lease after the restart, and a renewal keeps it', async () => {
    const N = 20;
    const pods: string[] = [];
    for (let i = 0; i < N; i++) {
      const p = await pod(`b${i}`);
      pods.push(p);
      attachments.push(veth(`b${i}`, 'v6', `h6e-b${i}`, p));
    }
    await apply();
    for (const p of pods) await waitLinkLocal(p);
    const cs = await Promise.all(pods.map((p) => dhclient(p)));
    for (const c of cs) c.start();
    // Kill once some clients hold a lease and others are still asking.
    const got = async (): Promise<number> => (await Promise.all(cs.map((c) => c.leasedAddresses()))).filter((a) => a.length > 0).length;
    await eventually('5 leases in the burst', async () => (await got()) >= 5, 20_000);
    const before = await got();
    await session.agent!.kill9();
    session.agent = null;
    await boot();
    const all = await eventually('every client bound', async () => {
      const a = await Promise.all(cs.map((c) => c.leasedAddresses()));
      return a.every((x) => x.length === 1) ? a.map((x) => x[0]!) : undefined;
    }, 60_000);
    expect(new Set(all).size, `distinct addresses: ${all.join(' ')}`).toBe(N);
    for (const ip of all) expect(inV6Pool(ip), ip).toBe(true);
    const ls = await leases();
    for (const [i, ip] of all.entries()) {
      expect(ls.find((l) => l.ip === ip), `lease of ${ip} (b${i}) after the restart; ${before} had leases at the kill`)
        .toMatchObject({ network: 'v6', mac: deriveAttachmentMac(`b${i}`), state: LeaseState.LEASE_STATE_BOUND });
    }
    // Again with the same DUID and lease file: the client keeps its address.
    for (const c of cs) await c.stop();
    const counts = await Promise.all(cs.map(async (c) => (await c.events()).filter((e) => BOUND6.includes(e.reason)).length));
    for (const c of cs) c.start();
    for (const [i, c] of cs.entries()) {
      const ev = await c.waitEvent(BOUND6, counts[i]! + 1, 30_000);
      expect(ev.env['new_ip6_address'], `b${i} after dhclient -6 -1 again (${ev.reason})`).toBe(all[i]);
    }
    const after = await leases();
    for (const ip of all) expect(after.find((l) => l.ip === ip)?.state).toBe(LeaseState.LEASE_STATE_BOUND);
  });
});
