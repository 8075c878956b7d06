// Routed networks announced over BGP (issue 13, "Announcing routes"): a lab of 2 hosts (the
// real hostnet-agent in each, its own FRR started by the agent) and a "fabric" router namespace
// on the underlay running its own FRR (zebra + bgpd, pathspace <prefix>fabric), eBGP from each
// host (AS 65001, 65002) to the fabric (AS 65000, next-hop-self: traffic between hosts goes
// through it). One routed network `pub` 10.95.0.0/24 defined on both hosts, the model
// (Calico, Safespring): one subnet spread over hosts, each workload's /32 routed by its host and
// announced, so a workload reaches another host's workload by proxy ARP on its own host and
// BGP-learned /32s, never at layer 2.
// Witnesses: the fabric's `show ip route json` and kernel routes (proto bgp), the hosts' kernel
// routes (proto bgp via the fabric), ping between workloads; the time from the Apply that
// removes a workload until the fabric and the other host lose its route and ping fails
// (printed); an agent restart (SIGTERM and kill -9) during which the fabric's route never goes;
// an AGGREGATE network announced as its CIDR while it has a workload, a NO_ANNOUNCE one not at all.
//
// IPv4 forwarding on each host's underlay device (eth0), where a packet from the fabric to a
// workload comes IN (the kernel checks the in-device's switch), is the agent's: the
// forwarding participant turns it on towards the BGP peers while a network is routed. Nothing
// here sets it: the pings across prove it, and the sysctl is read back.
import { execa } from 'execa';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDaemons, isAlive, startDaemon, stopFrrInstance } from '../../agent/frr/daemons.js';
import { frrInstance, type FrrInstance } from '../../agent/frr/instance.js';
import { reloadFrr, writeFrrConfig } from '../../agent/frr/reload.js';
import { vtyshJson } from '../../agent/frr/state.js';
import { Lab } from '../../agent/testing/lab/lab.js';
import { hostAddress } from '../../agent/testing/lab/topology.js';
import { buildDist } from '../lib/agent-process.js';
import { eventually } from '../lib/agent-state.js';

const PREFIX = 'hntest-bgp-';
const FABRIC_IP = '10.77.0.200';
const FABRIC_ASN = 65000;
const hostAsn = (h: number): number => FABRIC_ASN + h;
const BOUND_MS = 2000;

const log = (line: string): void => console.log(`[routed-bgp] ${line}`);
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let lab: Lab | null = null;
let fabricNs = '';
let fabric: FrrInstance | null = null;
const L = (): Lab => lab!;

type RouteJson = Record<string, Array<{ prefix: string; protocol: string; selected?: boolean; uptime?: string; nexthops?: Array<{ ip?: string; interfaceName?: string }> }>>;

/** The fabric's zebra RIB (`show ip route json`). */
const fabricRib = async (): Promise<RouteJson> => (await vtyshJson(fabric!, 'show ip route json')) as RouteJson;
const selectedBgp = (rib: RouteJson, prefix: string): boolean => (rib[prefix] ?? []).some((r) => r.protocol === 'bgp' && r.selected);

/** Kernel routes of `ns` for `dest` (ip -j route show exact). */
async function kernelRoutes(ns: string, dest: string): Promise<Array<{ dst: string; gateway?: string; dev: string; protocol: string }>> {
  const r = await execa('ip', ['-n', ns, '-j', 'route', 'show', 'exact', dest], { reject: false });
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}

const ping = (from: string, to: string, waitS = '1') => execa('ip', ['netns', 'exec', L().workload(from).ns, 'ping', '-c', '1', '-W', waitS, to], { reject: false });

function fabricConfig(hosts: number): string {
  const peers = Array.from({ length: hosts }, (_, k) => k + 1);
  return [
    'frr defaults datacenter', 'hostname fabric', '!',
    `router bgp ${FABRIC_ASN}`, ` bgp router-id ${FABRIC_IP}`, ' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast',
    ...peers.map((h) => ` neighbor ${hostAddress(h)} remote-as ${hostAsn(h)}`),
    ' !', ' address-family ipv4 unicast',
    // next-hop-self: without it a route from h2 reaches h1 with h2's own address as next hop
    // (third-party next hop on a shared subnet) and traffic would bypass the fabric.
    ...peers.flatMap((h) => [`  neighbor ${hostAddress(h)} activate`, `  neighbor ${hostAddress(h)} next-hop-self`]),
    ' exit-address-family', 'exit', '!', '',
  ].join('\n');
}

beforeAll(async () => {
  await buildDist();
  const started = Date.now();
  lab = await Lab.create({
    prefix: PREFIX, hosts: 2, dir: await mkdtemp(path.join(tmpdir(), PREFIX)), replace: true,
    bgp: (h) => ({ asn: hostAsn(h), routerId: hostAddress(h), peers: [{ address: FABRIC_IP, asn: FABRIC_ASN, description: 'fabric' }] }),
  });
  fabricNs = await lab.addUnderlayPeer('fabric', FABRIC_IP);
  await execa('ip', ['netns', 'exec', fabricNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  fabric = frrInstance(`${PREFIX}fabric`, fabricNs);
  await startDaemon(fabric, 'zebra');
  await startDaemon(fabric, 'bgpd');
  await writeFrrConfig(fabric, fabricConfig(2));
  await reloadFrr(fabric);
  log(`lab of 2 hosts and the fabric up in ${Date.now() - started} ms`);
}, 180_000);

afterAll(async () => {
  // The fabric's daemons by their pid files (Lab.down stops only the hosts' instances).
  if (fabric) {
    const d = await findDaemons(fabric);
    await stopFrrInstance(fabric.pathspace, { removeFiles: true }).catch((err) => log(`stopping the fabric's FRR: ${String(err)}`));
    for (const x of [d.zebra, d.bgpd]) if (x) expect(await isAlive(x.pid), `fabric ${x.daemon} ${x.pid}`).toBe(false);
  }
  await lab?.close();
}, 120_000);

describe('routed networks announced to a fabric router over BGP', () => {
  it('each host announces its workloads\' /32s; the fabric and the other host route them (proto bgp); workloads ping across', async () => {
    await L().addNetwork({ name: 'pub', mode: 'flood', vni: 0, cidr: '10.95.0.0/24', routed: {} });
    const a = await L().addWorkload(1, 'a', 'pub');
    const b = await L().addWorkload(2, 'b', 'pub');
    log(`workload a ${a.ip} on h1, b ${b.ip} on h2`);
    await Promise.all([1, 2].map((h) => L().waitBgpReady(h, 60_000)));
    const t0 = Date.now();
    await eventually('the fabric learns both /32s over BGP', async () => {
      const rib = await fabricRib();
      return selectedBgp(rib, `${a.ip}/32`) && selectedBgp(rib, `${b.ip}/32`);
    }, 30_000);
    log(`fabric has both /32s ${Date.now() - t0} ms after BgpReady`);
    const rib = await fabricRib();
    expect(rib[`${a.ip}/32`]?.find((r) => r.selected)?.nexthops?.[0]?.ip).toBe(hostAddress(1));
    expect(rib[`${b.ip}/32`]?.find((r) => r.selected)?.nexthops?.[0]?.ip).toBe(hostAddress(2));
    // Only what the hosts originate: nothing else of 10.95/24 (the gateway, the aggregate).
    expect(Object.keys(rib).filter((p) => p.startsWith('10.95.')).sort()).toEqual([`${a.ip}/32`, `${b.ip}/32`].sort());
    expect(await kernelRoutes(fabricNs, `${a.ip}/32`)).toEqual([expect.objectContaining({ gateway: hostAddress(1), protocol: 'bgp' })]);
    expect(await kernelRoutes(fabricNs, `${b.ip}/32`)).toEqual([expect.objectContaining({ gateway: hostAddress(2), protocol: 'bgp' })]);
    // Each host: its own workload through its device (hostnet's protocol 104), the other's
    // learned from the fabric, through the fabric.
    await eventually('the hosts learn each other\'s /32 from the fabric', async () =>
      (await kernelRoutes(L().hostNs(1), `${b.ip}/32`)).some((r) => r.protocol === 'bgp') && (await kernelRoutes(L().hostNs(2), `${a.ip}/32`)).some((r) => r.protocol === 'bgp'), 20_000);
    expect(await kernelRoutes(L().hostNs(1), `${b.ip}/32`)).toEqual([expect.objectContaining({ gateway: FABRIC_IP, dev: 'eth0', protocol: 'bgp' })]);
    expect(await kernelRoutes(L().hostNs(2), `${a.ip}/32`)).toEqual([expect.objectContaining({ gateway: FABRIC_IP, dev: 'eth0', protocol: 'bgp' })]);
    expect(await kernelRoutes(L().hostNs(1), `${a.ip}/32`)).toEqual([expect.objectContaining({ dev: a.ifName })]);
    // No default route anywhere: only the BGP-learned /32s carry the traffic.
    for (const h of [1, 2]) expect(await kernelRoutes(L().hostNs(h), 'default')).toEqual([]);
    await eventually('a and b ping each other through the fabric', async () => (await ping('a', b.ip)).exitCode === 0 && (await ping('b', a.ip)).exitCode === 0, 20_000);
    // The agent turned on the underlay device's forwarding (nothing else in this test does).
    for (const h of [1, 2]) {
      expect((await execa('ip', ['netns', 'exec', L().hostNs(h), 'sysctl', '-n', 'net.ipv4.conf.eth0.forwarding'])).stdout.trim(), `h${h} eth0 forwarding`).toBe('1');
      // And the node says so (hostnetctl get node): FabricForwarding True on eth0.
      const node = JSON.parse(await L().ctl(h, ['get', 'node', '-o', 'json'])) as { conditions?: Array<{ type: string; status: string; message?: string }> };
      expect(node.conditions?.find((c) => c.type === 'FabricForwarding'), `h${h} FabricForwarding`).toMatchObject({ status: expect.stringMatching(/TRUE/i), message: 'IPv4 forwarding on eth0, towards the BGP peers' });
    }
    // The path: h1 -> fabric -> h2 (traceroute-free: the route h1 takes).
    const get = await execa('ip', ['-n', L().hostNs(1), 'route', 'get', b.ip]);
    expect(get.stdout).toContain(`via ${FABRIC_IP} dev eth0`);
  }, 240_000);

  it('an agent restart (SIGTERM, then kill -9) withdraws nothing: the fabric\'s route stays the whole time', async () => {
    const a = L().workload('a');
    const b = L().workload('b');
    const prefix = `${a.ip}/32`;
    const before = (await fabricRib())[prefix];
    expect(before?.some((r) => r.selected && r.protocol === 'bgp')).toBe(true);
    const sessions = async () => ((await vtyshJson(fabric!, 'show bgp summary json')) as { ipv4Unicast: { peers: Record<string, { connectionsEstablished: number }> } }).ipv4Unicast.peers[hostAddress(1)]!.connectionsEstablished;
    const sessionsBefore = await sessions();
    let watching = true;
    let samples = 0;
    const gaps: number[] = [];
    const watcher = (async () => {
      while (watching) {
        const ok = selectedBgp(await fabricRib(), prefix);
        samples++;
        if (!ok) gaps.push(Date.now());
        await pause(100);
      }
    })();
    try {
      await L().restartAgent(1);
      await pause(4000); // a few passes of the new agent (and its first FRR reload)
      await L().killAgent(1, 'SIGKILL');
      await L().restartAgent(1);
      await pause(4000);
    } finally {
      watching = false;
      await watcher;
    }
    log(`agent restarts on h1: ${samples} samples of the fabric's RIB, ${gaps.length} without ${prefix}`);
    expect(gaps).toEqual([]);
    expect(selectedBgp(await fabricRib(), prefix)).toBe(true);
    expect(await sessions()).toBe(sessionsBefore);
    expect((await ping('b', a.ip)).exitCode).toBe(0);
    expect((await ping('a', b.ip)).exitCode).toBe(0);
  }, 120_000);

  it('a workload deleted on h1 is withdrawn: the fabric and h2 lose its /32 and b cannot reach it within 2 s', async () => {
    const a = L().workload('a');
    const prefix = `${a.ip}/32`;
    expect((await ping('b', a.ip)).exitCode).toBe(0);
    const t0 = Date.now();
    let fabricGone = 0;
    let hostGone = 0;
    let unreachable = 0;
    const watch = (async () => {
      const until = t0 + 15_000;
      while (Date.now() < until && !(fabricGone && hostGone && unreachable)) {
        if (!fabricGone && !selectedBgp(await fabricRib(), prefix)) fabricGone = Date.now() - t0;
        if (!hostGone && (await kernelRoutes(L().hostNs(2), prefix)).length === 0) hostGone = Date.now() - t0;
        if (!unreachable && (await ping('b', a.ip, '0.2')).exitCode !== 0) unreachable = Date.now() - t0;
        await pause(20);
      }
    })();
    // keepNamespace: the agent's removal alone (the attachment's device, its route) withdraws.
    await L().removeWorkload('a', { keepNamespace: true });
    const applied = Date.now() - t0;
    await watch;
    log(`removal of a (${a.ip}) on h1: apply returned after ${applied} ms; fabric lost the route after ${fabricGone} ms, h2 after ${hostGone} ms; b's ping to it first failed after ${unreachable} ms`);
    expect(fabricGone).toBeGreaterThan(0);
    expect(hostGone).toBeGreaterThan(0);
    expect(unreachable).toBeGreaterThan(0);
    expect(Math.max(fabricGone, hostGone, unreachable)).toBeLessThanOrEqual(BOUND_MS);
    // And it stays unreachable.
    expect((await ping('b', a.ip)).exitCode).not.toBe(0);
    expect(Object.keys(await fabricRib()).filter((p) => p.startsWith('10.95.'))).toEqual([`${L().workload('b').ip}/32`]);
  }, 120_000);

  it('AGGREGATE: the fabric sees the CIDR (no /32) while h1 has a workload on it; NO_ANNOUNCE: nothing', async () => {
    await L().addNetwork({ name: 'agg', mode: 'flood', vni: 0, cidr: '10.96.0.0/24', routed: { announce: 'AGGREGATE' } });
    await L().addNetwork({ name: 'quiet', mode: 'flood', vni: 0, cidr: '10.97.0.0/24', routed: { announce: 'NO_ANNOUNCE' } });
    const c = await L().addWorkload(1, 'c', 'agg');
    const q = await L().addWorkload(1, 'q', 'quiet');
    await eventually('the fabric learns 10.96.0.0/24 from h1', async () => selectedBgp(await fabricRib(), '10.96.0.0/24'), 20_000);
    const rib = await fabricRib();
    expect(rib['10.96.0.0/24']?.find((r) => r.selected)?.nexthops?.[0]?.ip).toBe(hostAddress(1));
    expect(Object.keys(rib).filter((p) => p.startsWith('10.96.') || p.startsWith('10.97.'))).toEqual(['10.96.0.0/24']);
    // h2 routes the whole CIDR to the fabric; h1 holds FRR's discard route for its own
    // aggregate (an unused address of it is dropped, not sent back to the fabric), under its /32s.
    expect(await kernelRoutes(L().hostNs(2), '10.96.0.0/24')).toEqual([expect.objectContaining({ gateway: FABRIC_IP, protocol: 'bgp' })]);
    expect(await kernelRoutes(L().hostNs(1), '10.96.0.0/24')).toEqual([expect.objectContaining({ type: 'blackhole', protocol: 'bgp' })]);
    expect((await ping('c', '10.96.0.1')).exitCode).toBe(0);
    log(`aggregate 10.96.0.0/24 announced for ${c.ip}; NO_ANNOUNCE ${q.ip} not announced`);
    const t0 = Date.now();
    await L().removeWorkload('c', { keepNamespace: true });
    await eventually('the aggregate is withdrawn with the network\'s last workload', async () => !selectedBgp(await fabricRib(), '10.96.0.0/24'), 10_000);
    log(`aggregate withdrawn ${Date.now() - t0} ms after the Apply removing its last workload started`);
    expect(await kernelRoutes(L().hostNs(2), '10.96.0.0/24')).toEqual([]);
    expect(await kernelRoutes(L().hostNs(1), '10.96.0.0/24')).toEqual([]);
  }, 120_000);
});
