// DHCP and MTU on a network that spans hosts (issue 12, parts 6 and 7), with the lab's 3 hosts
// (namespaces on an underlay bridge, the real hostnet-agent in each, desired state pushed over
// mutual TLS from the control namespace). Every host gets the SAME network definition: a
// multicast VXLAN network (group 239.1.1.61 on eth0, no per-host `local`) with DHCP and one
// pool; only node.poolSlice differs (index i-1 of 3).
// Witnesses: hostnetctl's exit code and message, real DHCP clients (busybox udhcpc, ISC dhclient)
// in workload namespaces and what they understood, `hostnetctl get leases|networks -o json` of
// each host, an AF_PACKET sniffer in the underlay namespace that decodes VXLAN by hand
// (test/lib/vxlan-sniff.py), the nft counters of `table bridge hostnet-uplink`, `ip -j link`
// inside the workloads, and ping with DF set between hosts.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../agent/testing/lab/lab.js';
import type { LabNetworkSpec } from '../../agent/testing/lab/networks.js';
import { buildDist } from '../lib/agent-process.js';
import { eventually } from '../lib/agent-state.js';
import { DhcpClientRun, type ClientKind, type ClientLease } from '../lib/dhcp-clients.js';

const PREFIX = 'hntest-ld-';
const VNI = 4610;
const SPEC: LabNetworkSpec = {
  name: 'dnet', mode: 'multicast', vni: VNI, cidr: '10.78.61.0/24', group: '239.1.1.61', local: false,
  gateway: '10.78.61.1', dhcp: { pools: [{ start: '10.78.61.100', end: '10.78.61.189' }], leaseSeconds: 600 },
};
/** 90 addresses in 3 slices of 30: host i serves .(100 + 30(i-1)) .. .(129 + 30(i-1)). */
const sliceOf = (host: number): [number, number] => [100 + 30 * (host - 1), 129 + 30 * (host - 1)];
const lastOctet = (ip: string): number => Number(ip.split('.')[3]);
const HOSTS = [1, 2, 3];
/** Per host: a workload running udhcpc and one running dhclient, neither with an address of the lab's. */
const WORKLOADS: Array<{ name: string; host: number; client: ClientKind }> = HOSTS.flatMap((h) => [
  { name: `u${h}`, host: h, client: 'udhcpc' as const },
  { name: `d${h}`, host: h, client: 'dhclient' as const },
]);
const SNIFF_PY = path.resolve(import.meta.dirname, '../lib/vxlan-sniff.py');

let lab: Lab | null = null;
const L = (): Lab => lab!;
const clients = new Map<string, DhcpClientRun>();
const leases = new Map<string, ClientLease>();

beforeAll(async () => {
  await buildDist();
  lab = await Lab.create({ prefix: PREFIX, hosts: 3, dir: await mkdtemp(path.join(tmpdir(), PREFIX)), replace: true });
  await L().addNetwork(SPEC, { apply: false });
}, 120_000);

afterAll(async () => {
  for (const c of clients.values()) await c.stop().catch(() => undefined);
  await lab?.close();
  await Lab.down(PREFIX).catch(() => undefined); // a half-built lab
  const left = await execa('ip', ['netns', 'list']);
  expect(left.stdout).not.toContain(PREFIX);
}, 60_000);

// ---- witnesses ----

interface SniffReport {
  counts: { vxlan: number; dhcp4: number; dhcp6: number; rsra: number; icmp4: number; other: number };
  samples: Array<{ kind: string; dev: string; outerSrc: string; outerDst: string; vni: number; innerSrcMac: string; detail: unknown }>;
}

/** The underlay sniffer (test/lib/vxlan-sniff.py) in the underlay namespace; stop() ends it by its pid and returns what it saw. */
async function startSniffer(): Promise<{ stop: () => Promise<SniffReport> }> {
  const proc: ResultPromise = execa('ip', ['netns', 'exec', L().topology.underlayNs, '/usr/bin/python3', SNIFF_PY, 'br0'], { reject: false, buffer: true });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await eventually('the underlay sniffer to start', () => out.includes('ready'), 10_000, 50);
  return {
    stop: async () => {
      proc.kill('SIGTERM');
      const r = await proc;
      const line = String(r.stdout).split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`sniffer: no report (exit ${r.exitCode}): ${String(r.stderr)}`);
      return JSON.parse(line) as SniffReport;
    },
  };
}

/** The uplink guard's counters on `host` (nft -j list counters, table bridge hostnet-uplink). */
async function guardCounters(host: number): Promise<{ keptIn: number; keptOut: number }> {
  const r = await execa('ip', ['netns', 'exec', L().hostNs(host), '/usr/sbin/nft', '-j', 'list', 'counters', 'table', 'bridge', 'hostnet-uplink']);
  const items = (JSON.parse(r.stdout) as { nftables: Array<{ counter?: { name: string; packets: number } }> }).nftables;
  const get = (name: string): number => {
    const c = items.find((i) => i.counter?.name === name)?.counter;
    if (!c) throw new Error(`h${host}: no counter ${name} in table bridge hostnet-uplink: ${r.stdout}`);
    return c.packets;
  };
  return { keptIn: get('kept-in'), keptOut: get('kept-out') };
}

async function macOfDev(ns: string, dev: string): Promise<string> {
  const r = await execa('ip', ['-n', ns, '-j', 'link', 'show', dev]);
  return (JSON.parse(r.stdout) as { address: string }[])[0]!.address;
}
const macOf = (ns: string): Promise<string> => macOfDev(ns, 'eth0');

async function mtuIn(ns: string, dev: string): Promise<number> {
  const r = await execa('ip', ['-n', ns, '-j', 'link', 'show', dev]);
  return (JSON.parse(r.stdout) as { mtu: number }[])[0]!.mtu;
}

async function networkStatus(host: number): Promise<{ name: string; mtu?: number; uplinkName?: string; conditions?: Array<{ type: string; status: string; reason?: string }> }> {
  const s = JSON.parse(await L().ctl(host, ['get', 'networks', '-o', 'json'])) as { networks: Array<{ name: string; mtu?: number; uplinkName?: string }> };
  const n = s.networks.find((x) => x.name === SPEC.name);
  if (!n) throw new Error(`h${host}: no status of network ${SPEC.name}`);
  return n;
}

async function hostLeases(host: number): Promise<Array<{ ip: string; mac: string; state?: string }>> {
  const s = JSON.parse(await L().ctl(host, ['get', 'leases', '-o', 'json'])) as { leases?: Array<{ ip: string; mac: string; state?: string }> };
  return s.leases ?? [];
}

/** ping with DF set (-M do) and a payload of `size` bytes from workload `from` to `to`. */
async function pingDf(from: string, to: string, size: number): Promise<{ ok: boolean; output: string }> {
  const r = await execa('ip', ['netns', 'exec', L().workload(from).ns, 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', String(size), to], { reject: false });
  return { ok: r.exitCode === 0, output: `${r.stdout}\n${r.stderr}`.trim() };
}

/**
 * A DHCPDISCOVER from MAC 02:00:00:00:61:99 inside a VXLAN packet of our VNI, built by hand:
 * what a workload on another host would put on the underlay if its host let it out.
 */
function vxlanDiscover(): Buffer {
  const bootp = Buffer.alloc(300);
  bootp.writeUInt8(1, 0); // BOOTREQUEST
  bootp.writeUInt8(1, 1);
  bootp.writeUInt8(6, 2);
  bootp.writeUInt32BE(0x61996199, 4); // xid
  bootp.writeUInt16BE(0x8000, 10); // broadcast
  Buffer.from([2, 0, 0, 0, 0x61, 0x99]).copy(bootp, 28);
  bootp.writeUInt32BE(0x63825363, 236);
  Buffer.from([53, 1, 1, 255]).copy(bootp, 240);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(68, 0);
  udp.writeUInt16BE(67, 2);
  udp.writeUInt16BE(8 + bootp.length, 4);
  const ip = Buffer.from([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255]);
  ip.writeUInt16BE(20 + udp.length + bootp.length, 2);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const eth = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0x61, 0x99, 0x08, 0x00]);
  const vxlan = Buffer.from([0x08, 0, 0, 0, (VNI >> 16) & 0xff, (VNI >> 8) & 0xff, VNI & 0xff, 0]);
  return Buffer.concat([vxlan, eth, ip, udp, bootp]);
}

// ---- tests ----

describe('lab: DHCP on a VXLAN network that spans 3 hosts (pool slices, uplink guard) and its MTU', () => {
  it('every host gets the same network definition; without node.poolSlice hostnetctl apply is refused and names node.poolSlice', async () => {
    const defs = HOSTS.map((h) => JSON.stringify(L().desiredState(h)['networks']));
    expect(new Set(defs).size).toBe(1);
    expect(defs[0]).not.toContain('"local"');
    const s = L().desiredState(1) as { generation: number; node?: { poolSlice?: unknown } };
    s.generation = 1;
    delete s.node!.poolSlice;
    const file = path.join(L().dir, 'h1', 'no-slice.json');
    await writeFile(file, `${JSON.stringify(s, null, 2)}\n`);
    const r = await L().ctlResult(1, ['apply', '-f', file]);
    expect(r.exitCode, r.stdout).not.toBe(0);
    expect(r.stderr).toMatch(/node\.poolSlice/);
    expect(r.stderr).toMatch(/dnet/);
    // Nothing of it was stored: the host has no network.
    const state = JSON.parse(await L().ctl(1, ['get', 'networks', '-o', 'json'])) as { networks?: unknown[] };
    expect(state.networks ?? []).toEqual([]);
  });

  it('with slices: each workload\'s DHCP client gets an address of its own host\'s slice, each host leases only to its own workloads, and no DHCP crosses hosts', async () => {
    for (const w of WORKLOADS) await L().addWorkload(w.host, w.name, SPEC.name, '', { apply: false });
    await L().applyAll({ timeoutSeconds: 90 });
    for (const h of HOSTS) {
      const n = await networkStatus(h);
      const contained = (n.conditions ?? []).find((c) => c.type === 'AddressingContained');
      expect(contained?.status, JSON.stringify(n.conditions)).toMatch(/TRUE/i);
    }
    const before = new Map(await Promise.all(HOSTS.map(async (h) => [h, await guardCounters(h)] as const)));
    const sniffer = await startSniffer();
    let report: SniffReport | null = null;
    try {
      for (const w of WORKLOADS) clients.set(w.name, await DhcpClientRun.start(w.client, L().workload(w.name).ns, 'eth0'));
      for (const w of WORKLOADS) leases.set(w.name, await clients.get(w.name)!.waitLease(1, 30_000));
      // Traffic that does cross: the sniffer decodes VXLAN and sees the workloads' pings.
      const ping = await L().ping('u1', leases.get('u2')!.ip, { attempts: 5 });
      expect(ping.ok, ping.output).toBe(true);
    } finally {
      report = await sniffer.stop();
    }

    // Every address is in its own host's slice, and all differ.
    const ips = WORKLOADS.map((w) => leases.get(w.name)!.ip);
    for (const w of WORKLOADS) {
      const ip = leases.get(w.name)!.ip;
      const [lo, hi] = sliceOf(w.host);
      expect(ip.startsWith('10.78.61.'), `${w.name}: ${ip}`).toBe(true);
      expect(lastOctet(ip), `${w.name} (${w.client} on h${w.host}) got ${ip}; h${w.host}'s slice is .${lo}-.${hi}`).toBeGreaterThanOrEqual(lo);
      expect(lastOctet(ip), `${w.name} (${w.client} on h${w.host}) got ${ip}; h${w.host}'s slice is .${lo}-.${hi}`).toBeLessThanOrEqual(hi);
      expect(leases.get(w.name)!.prefix).toBe(24);
      expect(leases.get(w.name)!.routers).toEqual([SPEC.gateway]);
    }
    expect(new Set(ips).size).toBe(ips.length);

    // Each host's leases are exactly its own workloads' (MAC and address).
    for (const h of HOSTS) {
      const own = await Promise.all(WORKLOADS.filter((w) => w.host === h).map(async (w) => `${await macOf(L().workload(w.name).ns)} ${leases.get(w.name)!.ip}`));
      const got = (await hostLeases(h)).map((l) => `${l.mac} ${l.ip}`);
      expect(got.sort(), `h${h}'s leases`).toEqual(own.sort());
    }

    // No DHCP went over the underlay; the sniffer did see VXLAN with pings in it.
    expect(report.counts.icmp4, JSON.stringify(report)).toBeGreaterThan(0);
    expect(report.counts.dhcp4, JSON.stringify(report.samples)).toBe(0);
    expect(report.counts.dhcp6, JSON.stringify(report.samples)).toBe(0);
    // No RS or RA at all: not of a workload, not of a bridge, and not of the VXLAN device itself
    // (hostnet turns IPv6 off on the uplinks it makes: their own solicitations used to go out).
    const rsra = report.samples.filter((x) => x.kind === 'rsra');
    expect(rsra, JSON.stringify(rsra)).toEqual([]);

    // ... because each host kept its workloads' broadcasts off the uplink: at least a DISCOVER
    // and a REQUEST of each of its two clients.
    for (const h of HOSTS) {
      const after = await guardCounters(h);
      expect(after.keptOut - before.get(h)!.keptOut, `h${h} kept-out ${JSON.stringify(before.get(h))} -> ${JSON.stringify(after)}`).toBeGreaterThanOrEqual(4);
    }
  }, 180_000);

  it('a DHCPDISCOVER arriving over the underlay is kept from the host (kept-in) and no host answers it', async () => {
    const h = 2;
    const before = await guardCounters(h);
    const leasesBefore = await hostLeases(h);
    const sniffer = await startSniffer();
    let report: SniffReport | null = null;
    try {
      const hex = vxlanDiscover().toString('hex');
      for (let i = 0; i < 3; i++) {
        await execa('ip', ['netns', 'exec', L().topology.ctlNs, '/usr/bin/python3', '-c',
          'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 4789))',
          hex, L().hostIp(h)]);
        await new Promise((r) => setTimeout(r, 300));
      }
      await new Promise((r) => setTimeout(r, 1000)); // time for an answer that must not come
    } finally {
      report = await sniffer.stop();
    }
    const after = await guardCounters(h);
    expect(after.keptIn - before.keptIn, `h${h} kept-in ${JSON.stringify(before)} -> ${JSON.stringify(after)}`).toBeGreaterThanOrEqual(3);
    // The sniffer saw our three DISCOVERs (from the ctl namespace) and nothing DHCP from a host.
    const dhcp = report.samples.filter((x) => x.kind === 'dhcp4');
    expect(dhcp.filter((x) => x.outerSrc === '10.77.0.254'), JSON.stringify(report)).toHaveLength(3);
    expect(dhcp.filter((x) => x.outerSrc !== '10.77.0.254'), JSON.stringify(report)).toEqual([]);
    expect((await hostLeases(h)).map((l) => l.mac)).toEqual(leasesBefore.map((l) => l.mac));
    expect((await hostLeases(h)).some((l) => l.mac === '02:00:00:00:61:99')).toBe(false);
  });

  it('the guard is what keeps it: with h1\'s table deleted by hand, h1\'s workload\'s DISCOVER crosses (the sniffer sees it), no other host answers (their guards: kept-in), and a pass puts the table back', async () => {
    const nft = (host: number, args: string[]) => execa('ip', ['netns', 'exec', L().hostNs(host), '/usr/sbin/nft', ...args], { reject: false });
    expect((await nft(1, ['delete', 'table', 'bridge', 'hostnet-uplink'])).exitCode).toBe(0);
    const before = new Map(await Promise.all([2, 3].map(async (h) => [h, await guardCounters(h)] as const)));
    const sniffer = await startSniffer();
    let report: SniffReport | null = null;
    let client = '';
    try {
      // A one-shot udhcpc whose script does nothing: u1's address and its running client stay as they are.
      const r = await execa('ip', ['netns', 'exec', L().workload('u1').ns, 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '3', '-T', '1', '-s', '/bin/true'], { reject: false, all: true });
      client = r.all ?? '';
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      report = await sniffer.stop();
    }
    expect(client).toContain(`lease of ${leases.get('u1')!.ip} obtained`);
    const dhcp = report.samples.filter((x) => x.kind === 'dhcp4');
    const u1Mac = await macOf(L().workload('u1').ns);
    expect(dhcp.filter((x) => x.outerSrc === L().hostIp(1) && x.innerSrcMac === u1Mac).length, JSON.stringify(report)).toBeGreaterThanOrEqual(1);
    expect(dhcp.filter((x) => x.outerSrc !== L().hostIp(1)), JSON.stringify(report)).toEqual([]);
    for (const h of [2, 3]) {
      const after = await guardCounters(h);
      expect(after.keptIn - before.get(h)!.keptIn, `h${h} kept-in`).toBeGreaterThanOrEqual(1);
      expect((await hostLeases(h)).some((l) => l.mac === u1Mac), `h${h} leased to u1`).toBe(false);
    }
    // A refresh pass (SIGHUP: the periodic resync, now) reads the table back and rewrites it.
    process.kill(L().agentPid(1)!, 'SIGHUP');
    await eventually('h1\'s guard table back', async () => (await nft(1, ['list', 'table', 'bridge', 'hostnet-uplink'])).exitCode === 0, 15_000, 100);
    const contained = (await networkStatus(1)).conditions?.find((c) => c.type === 'AddressingContained');
    expect(contained?.status).toMatch(/TRUE/i);
    // The whole table, not a remnant: its 8 rules are back (its counters start anew; a client's
    // retransmission may already have counted, so they are not compared).
    const rules = JSON.parse((await nft(1, ['-j', 'list', 'table', 'bridge', 'hostnet-uplink'])).stdout) as { nftables: Array<Record<string, unknown>> };
    expect(rules.nftables.filter((x) => 'rule' in x)).toHaveLength(8);
  });

  it('MTU: 1450 over the 1500 underlay (status, option 26, the workloads\' eth0), a 1450-byte packet with DF crosses hosts and 1451 does not', async () => {
    for (const h of HOSTS) expect((await networkStatus(h)).mtu, `h${h}`).toBe(1450);
    for (const w of WORKLOADS) {
      expect(leases.get(w.name)!.mtu, `${w.name} (${w.client}) option 26`).toBe(1450);
      expect(await mtuIn(L().workload(w.name).ns, 'eth0'), `${w.name}'s eth0`).toBe(1450);
    }
    const to = leases.get('u2')!.ip;
    const full = await pingDf('u1', to, 1422); // 1422 + 8 (ICMP) + 20 (IP) = 1450
    expect(full.ok, full.output).toBe(true);
    const over = await pingDf('u1', to, 1423);
    expect(over.ok, over.output).toBe(false);
    expect(over.output).toMatch(/message too long|mtu ?= ?1450/i);
    // The same between the dhclient workloads of h3 and h1.
    expect((await pingDf('d3', leases.get('d1')!.ip, 1422)).ok).toBe(true);
  });

  it('MTU: an underlay of 9000 makes the network 8950 (status, the host\'s devices, option 26 on renewal); 8922 bytes with DF cross hosts', async () => {
    await L().setUnderlayMtu(9000);
    // The agents see the underlay device change on their own (a link event, or at worst the periodic resync).
    await eventually('network mtu 8950 on every host', async () => {
      for (const h of HOSTS) {
        const mtu = (await networkStatus(h)).mtu;
        if (mtu !== 8950) throw new Error(`h${h}: network mtu ${mtu}`);
      }
      return true;
    }, 75_000, 500);
    for (const h of HOSTS) {
      const n = await networkStatus(h);
      for (const dev of ['hn-dnet', n.uplinkName!, ...WORKLOADS.filter((w) => w.host === h).map((w) => L().workload(w.name).ifName)]) {
        expect(await mtuIn(L().hostNs(h), dev), `h${h} ${dev}`).toBe(8950);
      }
    }
    // The workloads learn it when their clients renew (udhcpc: SIGUSR1) and apply it as a
    // distribution's script would (the test's scripts record and set addresses only).
    for (const name of ['u1', 'u2']) {
      const c = clients.get(name)!;
      c.signal('SIGUSR1');
      const renewed = await c.waitLease(2, 20_000);
      expect(renewed.mtu, `${name} on renewal`).toBe(8950);
      expect(renewed.ip).toBe(leases.get(name)!.ip);
      await execa('ip', ['-n', L().workload(name).ns, 'link', 'set', 'eth0', 'mtu', String(renewed.mtu)]);
    }
    const to = leases.get('u2')!.ip;
    const jumbo = await pingDf('u1', to, 8922);
    expect(jumbo.ok, jumbo.output).toBe(true);
    const over = await pingDf('u1', to, 8923);
    expect(over.ok, over.output).toBe(false);
  }, 150_000);
});
