// bench/routed-bgp (issue 13): the time for N host routes to be announced to and learned by the
// fabric router. A lab of one host (agent/testing/lab: the real hostnet-agent with node.bgp, its
// own FRR) and a "fabric" namespace on the underlay running FRR (zebra + bgpd, eBGP from the
// host). N routed TAP attachments (static addresses) are Applied at once over a warm mTLS
// channel (bench/lab/warm-client.ts) and the clock runs from the Apply leaving until the
// fabric's kernel holds all N /32s (proto bgp); then from the Apply that removes them all until
// the fabric holds none. In the same run, FRR alone as the reference, in a second namespace on
// the underlay ("ref", its own FRR peering the same fabric, no policies):
//   - `network` statements: the N kernel routes already there, all N statements loaded at once
//     with one `vtysh -f` (FRR's import-check announces each once zebra has its route), then
//     `no network` for all of them;
//   - `redistribute kernel`: one `ip -batch` adding the N routes (then deleting them).
// Run as root after `npm run build`:
//   node dist/bench/routed-bgp/main.js [--attachments 1000]
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { findDaemons, startDaemon, stopFrrInstance } from '../../agent/frr/daemons.js';
import { frrInstance, pathspaceArgs, type FrrInstance } from '../../agent/frr/instance.js';
import { reloadFrr, writeFrrConfig } from '../../agent/frr/reload.js';
import { Lab } from '../../agent/testing/lab/lab.js';
import { hostAddress } from '../../agent/testing/lab/topology.js';
import { AGENT_JS } from '../../agent/testing/launch.js';
import { WarmClient } from '../lab/warm-client.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { markdownTable, ms } from '../lib/table.js';

// Lab namespaces hnbench-hnd-bgp-*: the lab library wants hnbench-; "hnd" keeps this bench's
// namespaces apart from other labs running on the machine.
const PREFIX = 'hnbench-hnd-bgp-';
const FABRIC_IP = '10.77.0.200';
const REF_IP = '10.77.0.201';
const FABRIC_ASN = 65000;
const HOST_ASN = 65001;
const REF_ASN = 65009;
const NETWORK = 'rbgp';
const CIDR = '10.80.0.0/22';
/** The reference's routes: another /22, so the fabric's table tells the two apart. */
const REF_NET = 10 * 2 ** 24 + 84 * 2 ** 16;
const WAIT_MS = 180_000;
const POLL_MS = 25;

const pause = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const log = (m: string): void => void process.stderr.write(`bench/routed-bgp: ${m}\n`);

/** Address i (0-based) of a /22 starting at `base`, from .2 (the gateway is .1). */
function ipIn(base: number, i: number): string {
  const v = base + 2 + i;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}
const AGENT_NET = 10 * 2 ** 24 + 80 * 2 ** 16;
const workloadIp = (i: number): string => ipIn(AGENT_NET, i);
const refIp = (i: number): string => ipIn(REF_NET, i);
const macOf = (i: number): string => `52:54:00:51:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

function parseArgs(argv: string[]): { attachments: number } {
  let attachments = 1000;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--attachments') attachments = Number(argv[++i]);
    else throw new Error(`bench/routed-bgp: unknown argument "${argv[i]}" (use --attachments 1000)`);
  }
  if (!Number.isInteger(attachments) || attachments < 1 || attachments > 1020) throw new Error('bench/routed-bgp: --attachments takes 1..1020 (one /22)');
  return { attachments };
}

function fabricConfig(): string {
  return [
    'frr defaults datacenter', 'hostname fabric', '!',
    `router bgp ${FABRIC_ASN}`, ` bgp router-id ${FABRIC_IP}`, ' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast',
    ` neighbor ${hostAddress(1)} remote-as ${HOST_ASN}`, ` neighbor ${REF_IP} remote-as ${REF_ASN}`,
    ' !', ' address-family ipv4 unicast', `  neighbor ${hostAddress(1)} activate`, `  neighbor ${REF_IP} activate`, ' exit-address-family', 'exit', '!', '',
  ].join('\n');
}

/** The reference: a plain eBGP speaker, nothing announced until the bench asks. */
function refConfig(): string {
  return [
    'frr defaults datacenter', 'hostname ref', '!',
    `router bgp ${REF_ASN}`, ` bgp router-id ${REF_IP}`, ' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast',
    ` neighbor ${FABRIC_IP} remote-as ${FABRIC_ASN}`,
    ' !', ' address-family ipv4 unicast', `  neighbor ${FABRIC_IP} activate`, ' exit-address-family', 'exit', '!', '',
  ].join('\n');
}

/** How many /32s the fabric's kernel has from BGP whose address starts with `start`. */
async function fabricCount(fabricNs: string, start: string): Promise<number> {
  const r = await execa('ip', ['-n', fabricNs, 'route', 'show', 'proto', 'bgp']);
  let n = 0;
  for (const line of r.stdout.split('\n')) if (line.startsWith(start)) n++;
  return n;
}
async function kernelCount(ns: string, proto: string): Promise<number> {
  const r = await execa('ip', ['-n', ns, 'route', 'show', 'proto', proto]);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** Epoch ms when `count()` first equals `want` (polled every POLL_MS). */
async function until(what: string, want: number, count: () => Promise<number>): Promise<number> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const n = await count();
    if (n === want) return Date.now();
    if (Date.now() > deadline) throw new Error(`bench/routed-bgp: ${what}: ${n} after ${WAIT_MS / 1000} s, want ${want}`);
    await pause(POLL_MS);
  }
}

async function vtyshFile(frr: FrrInstance, dir: string, name: string, lines: string[]): Promise<void> {
  const file = path.join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  const r = await execa(frr.vtysh, [...pathspaceArgs(frr), '-f', file], { reject: false });
  if (r.exitCode !== 0) throw new Error(`bench/routed-bgp: vtysh -f ${file}: exit ${r.exitCode}: ${(r.stderr || r.stdout).slice(0, 300)}`);
}
const networkLines = (n: number, no: boolean): string[] => [
  `router bgp ${REF_ASN}`, ' address-family ipv4 unicast', ...Array.from({ length: n }, (_, i) => `  ${no ? 'no ' : ''}network ${refIp(i)}/32`), ' exit-address-family', 'exit',
];
async function ipBatch(ns: string, lines: string[]): Promise<void> {
  await execa('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}
const refRoutes = (n: number, op: 'add' | 'del'): string[] => Array.from({ length: n }, (_, i) => `route ${op} ${refIp(i)}/32 dev ref0`);

/**
 * The Apply over the warm client. 1000 TAPs made or deleted may outlast the client's 30 s
 * deadline for the answer (the pass runs before it, and the kernel deletes devices one by
 * one): the clock then starts when the client was handed the file, and the RPC time is unknown.
 */
async function applyTimed(warm: WarmClient, file: string): Promise<{ sentAt: number; returnedAt: number | null }> {
  const handed = Date.now();
  try {
    return await warm.apply(file);
  } catch (err) {
    if (!/did not answer/.test(String(err))) throw err;
    log(`no answer to the Apply of ${file} within the client's deadline: timed from when it was handed the file`);
    return { sentAt: handed, returnedAt: null };
  }
}

interface Figures {
  agentAnnounce: number; agentHostRoutes: number; agentRpc: number | null; agentWithdraw: number;
  netAnnounce: number; netWithdraw: number; redistAnnounce: number; redistWithdraw: number;
}

async function run(n: number, dir: string): Promise<Figures> {
  const lab = await Lab.create({
    prefix: PREFIX, hosts: 1, replace: true, log,
    bgp: () => ({ asn: HOST_ASN, routerId: hostAddress(1), peers: [{ address: FABRIC_IP, asn: FABRIC_ASN, description: 'fabric' }] }),
  });
  let fabric: FrrInstance | null = null;
  let ref: FrrInstance | null = null;
  let warm: WarmClient | null = null;
  try {
    const fabricNs = await lab.addUnderlayPeer('fabric', FABRIC_IP);
    const refNs = await lab.addUnderlayPeer('ref', REF_IP);
    // The reference routes' device: a veth pair inside ref (this kernel has no dummy module), up with carrier.
    await execa('ip', ['-n', refNs, 'link', 'add', 'ref0', 'type', 'veth', 'peer', 'name', 'ref1']);
    for (const d of ['ref0', 'ref1']) await execa('ip', ['-n', refNs, 'link', 'set', d, 'up']);
    fabric = frrInstance(`${PREFIX}fabric`, fabricNs);
    ref = frrInstance(`${PREFIX}ref`, refNs);
    for (const [frr, text] of [[fabric, fabricConfig()], [ref, refConfig()]] as const) {
      await startDaemon(frr, 'zebra');
      await startDaemon(frr, 'bgpd');
      await writeFrrConfig(frr, text);
      await reloadFrr(frr);
    }
    await lab.addNetwork({ name: NETWORK, mode: 'flood', vni: 0, cidr: CIDR, routed: {} });
    await lab.waitBgpReady(1, 60_000);
    warm = await WarmClient.start(lab, 1);
    const hostNs = lab.hostNs(1);
    const base = lab.desiredState(1);
    const stateFile = async (name: string, generation: number, count: number): Promise<string> => {
      const file = path.join(dir, name);
      const attachments = Array.from({ length: count }, (_, i) => ({
        name: `a${i}`, network: NETWORK, tap: { ifName: `rt${i}` }, mac: macOf(i), ip: { static: workloadIp(i) },
      }));
      await writeFile(file, JSON.stringify({ ...base, generation, attachments }));
      return file;
    };
    const withAll = await stateFile('with.json', 1000, n);
    const without = await stateFile('without.json', 1001, 0);

    log(`agent: Apply ${n} routed TAPs`);
    const hostRoutes = until('host routes (proto 104) on the host', n, () => kernelCount(hostNs, '104'));
    const learned = until('the agent\'s /32s in the fabric', n, () => fabricCount(fabricNs, '10.80.'));
    const sent = await applyTimed(warm, withAll);
    const [hostAt, fabricAt] = await Promise.all([hostRoutes, learned]);
    log('agent: Apply without them');
    const gone = until('the agent\'s /32s gone from the fabric', 0, () => fabricCount(fabricNs, '10.80.'));
    const sentOff = await applyTimed(warm, without);
    const goneAt = await gone;

    log(`FRR alone: ${n} network statements at once (vtysh -f), kernel routes in place`);
    await ipBatch(refNs, refRoutes(n, 'add'));
    await until('the reference\'s kernel routes', n, async () => (await execa('ip', ['-n', refNs, 'route', 'show', 'dev', 'ref0'])).stdout.split('\n').filter(Boolean).length);
    await pause(1000); // zebra has read them
    let t0 = Date.now();
    await vtyshFile(ref, dir, 'networks.conf', networkLines(n, false));
    const netAt = await until('the reference\'s network /32s in the fabric', n, () => fabricCount(fabricNs, '10.84.'));
    const netAnnounce = netAt - t0;
    t0 = Date.now();
    await vtyshFile(ref, dir, 'no-networks.conf', networkLines(n, true));
    const netGoneAt = await until('the reference\'s network /32s gone', 0, () => fabricCount(fabricNs, '10.84.'));
    const netWithdraw = netGoneAt - t0;

    log(`FRR alone: redistribute kernel, one ip -batch of ${n} routes`);
    await ipBatch(refNs, refRoutes(n, 'del'));
    await vtyshFile(ref, dir, 'redist.conf', [`router bgp ${REF_ASN}`, ' address-family ipv4 unicast', '  redistribute kernel', ' exit-address-family', 'exit']);
    await pause(1000);
    t0 = Date.now();
    await ipBatch(refNs, refRoutes(n, 'add'));
    const redistAt = await until('the reference\'s redistributed /32s in the fabric', n, () => fabricCount(fabricNs, '10.84.'));
    const redistAnnounce = redistAt - t0;
    t0 = Date.now();
    await ipBatch(refNs, refRoutes(n, 'del'));
    const redistGoneAt = await until('the reference\'s redistributed /32s gone', 0, () => fabricCount(fabricNs, '10.84.'));

    return {
      agentAnnounce: fabricAt - sent.sentAt, agentHostRoutes: hostAt - sent.sentAt, agentRpc: sent.returnedAt === null ? null : sent.returnedAt - sent.sentAt,
      agentWithdraw: goneAt - sentOff.sentAt, netAnnounce, netWithdraw, redistAnnounce, redistWithdraw: redistGoneAt - t0,
    };
  } finally {
    await warm?.close().catch(() => undefined);
    // The peers' daemons by their pid files (the lab stops only the hosts' instances).
    for (const frr of [fabric, ref]) {
      if (!frr) continue;
      const d = await findDaemons(frr).catch(() => null);
      if (d && (d.zebra || d.bgpd)) await stopFrrInstance(frr.pathspace, { removeFiles: true }).catch((err) => log(`stopping ${frr.pathspace}: ${String(err)}`));
    }
    await lab.close();
  }
}

async function main(): Promise<void> {
  const { attachments: n } = parseArgs(process.argv.slice(2));
  if (!existsSync(AGENT_JS)) throw new Error(`${AGENT_JS} missing: run npm run build first`);
  const machine = machineInfo();
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-bench-routed-bgp-'));
  let f: Figures;
  try {
    f = await run(n, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const x = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
  console.log(`bench/routed-bgp: ${describeMachine(machine)}`);
  console.log(`N = ${n} routed TAP attachments (static addresses in ${CIDR}) Applied at once to the real agent (node.bgp, eBGP to a fabric FRR on the lab underlay); times from the Apply leaving the warm mTLS client until the fabric's kernel has all N /32s (proto bgp), polled every ${POLL_MS} ms. Reference: a plain FRR on the same underlay peering the same fabric.\n`);
  console.log(markdownTable(['metric', 'figure', 'vs FRR network statements', 'vs redistribute kernel'], [
    ['date', machine.date, '-', '-'],
    ['CPU', `${machine.cpu} (${machine.cores} cores)`, '-', '-'],
    ['kernel', machine.kernel, '-', '-'],
    ['load average (1/5/15 min, at start)', load, '-', '-'],
    [`agent: Apply to all ${n} /32s learned by the fabric`, ms(f.agentAnnounce), x(f.agentAnnounce, f.netAnnounce), x(f.agentAnnounce, f.redistAnnounce)],
    ['  the Apply RPC\'s answer (it runs the pass first)', f.agentRpc === null ? 'no answer within 30 s' : ms(f.agentRpc), '-', '-'],
    [`  Apply to all ${n} proto 104 host routes on the host`, ms(f.agentHostRoutes), '-', '-'],
    // What BGP adds once the host routes are there (FRR's reload and import-check, the session): the FRR rows' equivalent.
    [`  the last host route to all ${n} /32s in the fabric`, ms(f.agentAnnounce - f.agentHostRoutes), x(f.agentAnnounce - f.agentHostRoutes, f.netAnnounce), x(f.agentAnnounce - f.agentHostRoutes, f.redistAnnounce)],
    [`agent: Apply removing them to none left in the fabric`, ms(f.agentWithdraw), x(f.agentWithdraw, f.netWithdraw), x(f.agentWithdraw, f.redistWithdraw)],
    [`FRR: ${n} network statements (vtysh -f, kernel routes there) to the fabric`, ms(f.netAnnounce), '1.00x', x(f.netAnnounce, f.redistAnnounce)],
    [`FRR: ${n} no network statements to none in the fabric`, ms(f.netWithdraw), '1.00x', x(f.netWithdraw, f.redistWithdraw)],
    [`FRR: redistribute kernel, ip -batch of ${n} routes to the fabric`, ms(f.redistAnnounce), x(f.redistAnnounce, f.netAnnounce), '1.00x'],
    [`FRR: redistribute kernel, ip -batch deleting them to none in the fabric`, ms(f.redistWithdraw), x(f.redistWithdraw, f.netWithdraw), '1.00x'],
  ]));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all(['fabric', 'ref'].map((p) => stopFrrInstance(`${PREFIX}${p}`, { removeFiles: true }).catch(() => [])))
      .then(() => Lab.down(PREFIX)).catch(() => undefined).finally(() => process.exit(130));
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
});
