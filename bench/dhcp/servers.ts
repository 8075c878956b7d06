// The three DHCP servers the benchmark compares, each started fresh in the server namespace on
// the same bridge, with its own config and lease file in a temp dir and the same network
// options: hostnet (serve-main: leases fdatasync'ed before the ACK), Kea 2.2 (kea-dhcp4,
// memfile, persist: appended, never synced) and dnsmasq (lease file rewritten and fsync'ed).
// Each is stopped by its own pid.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { ServeMain } from '../../dhcp/testing/serve-process.js';

export interface RunningServer {
  stop(): Promise<void>;
}

export interface BenchServer {
  name: string;
  /** How its leases reach the disk, for the table. */
  durability: string;
  start(netns: string, bridge: string, config: NetworkDhcpConfig, dir: string): Promise<RunningServer>;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The pool as one range (the bench config has exactly one). */
function pool(config: NetworkDhcpConfig): { start: string; end: string } {
  const p = config.pools?.[0];
  if (!p) throw new Error('bench/dhcp: the config needs one pool');
  return p;
}

function prefixOf(cidr: string): number {
  return Number(cidr.split('/')[1]);
}

function maskOf(cidr: string): string {
  const bits = prefixOf(cidr);
  const m = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 255).join('.');
}

/** Option 121 payload (RFC 3442), the default route included as hostnet sends it. */
function rfc3442(config: NetworkDhcpConfig): Buffer {
  const routes = [...(config.routes ?? []), ...(config.gateway ? [{ destination: '0.0.0.0/0', via: config.gateway }] : [])];
  const parts: number[] = [];
  for (const r of routes) {
    const [net, len] = r.destination.split('/');
    const width = Number(len);
    parts.push(width, ...net!.split('.').map(Number).slice(0, Math.ceil(width / 8)), ...r.via.split('.').map(Number));
  }
  return Buffer.from(parts);
}

/** A child process stopped by pid: SIGTERM, then SIGKILL after a grace period. */
async function stopChild(proc: ResultPromise): Promise<void> {
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await proc;
  clearTimeout(t);
}

/** Started, and still alive after a moment (they print nothing reliable when ready). */
async function settle(proc: ResultPromise, name: string): Promise<void> {
  let exited = false;
  void proc.finally(() => (exited = true));
  await pause(1000);
  if (exited) {
    const r = await proc;
    throw new Error(`${name} exited at start (${r.exitCode}): ${String(r.all ?? '').slice(-1500)}`);
  }
}

export const hostnet: BenchServer = {
  name: 'hostnet',
  durability: 'fdatasync before ACK (group commit)',
  async start(netns, bridge, config, dir) {
    const s = await ServeMain.start({ netns, device: bridge, config, dir, leaseFile: join(dir, 'hostnet.leases') });
    return { stop: async () => void (await s.stop()) };
  },
};

export const kea: BenchServer = {
  name: 'Kea 2.2 (kea-dhcp4, memfile)',
  // kea-dhcp4 and its libraries import neither fsync nor fdatasync.
  durability: 'CSV appended, not fsynced',
  async start(netns, bridge, config, dir) {
    const p = pool(config);
    const optionData: Record<string, unknown>[] = [
      { name: 'routers', data: config.gateway },
      { name: 'domain-name-servers', data: (config.dnsServers ?? []).join(', ') },
      ...(config.domainName ? [{ name: 'domain-name', data: config.domainName }] : []),
      // Kea 2.2 has no name for 121.
      { code: 121, space: 'dhcp4', 'csv-format': false, data: rfc3442(config).toString('hex') },
    ];
    const conf = {
      Dhcp4: {
        'interfaces-config': { interfaces: [bridge], 'dhcp-socket-type': 'raw' },
        'lease-database': { type: 'memfile', persist: true, name: join(dir, 'kea-leases.csv'), 'lfc-interval': 0 },
        'valid-lifetime': config.leaseSeconds,
        subnet4: [{ id: 1, subnet: config.cidr, pools: [{ pool: `${p.start} - ${p.end}` }], 'option-data': optionData }],
        loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'WARN' }],
      },
    };
    const run = join(dir, 'kea-run');
    await mkdir(run, { recursive: true });
    await writeFile(join(dir, 'kea-dhcp4.json'), JSON.stringify(conf, null, 2));
    const proc = execa('ip', ['netns', 'exec', netns, 'kea-dhcp4', '-c', join(dir, 'kea-dhcp4.json')], {
      reject: false, all: true, env: { KEA_PIDFILE_DIR: run, KEA_LOCKFILE_DIR: run }, stdin: 'ignore',
    });
    await settle(proc, 'kea-dhcp4');
    return { stop: () => stopChild(proc) };
  },
};

export const dnsmasq: BenchServer = {
  name: 'dnsmasq 2.90',
  durability: 'lease file rewritten + fsync per change',
  async start(netns, bridge, config, dir) {
    const p = pool(config);
    const routes = [...(config.routes ?? []), ...(config.gateway ? [{ destination: '0.0.0.0/0', via: config.gateway }] : [])];
    const args = [
      '-k', '--port=0', `--interface=${bridge}`, '--bind-interfaces', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
      `--dhcp-range=${p.start},${p.end},${maskOf(config.cidr)},${config.leaseSeconds}`,
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`,
      '--no-ping', '--dhcp-authoritative', '--dhcp-lease-max=200000', '--log-facility=-', '--quiet-dhcp',
      `--dhcp-option=3,${config.gateway}`, `--dhcp-option=6,${(config.dnsServers ?? []).join(',')}`,
      `--dhcp-option=121,${routes.map((r) => `${r.destination},${r.via}`).join(',')}`,
      ...(config.domainName ? [`--dhcp-option=15,${config.domainName}`] : []),
    ];
    const proc = execa('ip', ['netns', 'exec', netns, 'dnsmasq', ...args], { reject: false, all: true, stdin: 'ignore' });
    await settle(proc, 'dnsmasq');
    return { stop: () => stopChild(proc) };
  },
};

export const benchServers: readonly BenchServer[] = [hostnet, kea, dnsmasq];
