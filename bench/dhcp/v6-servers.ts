// The two DHCPv6 servers the IPv6 benchmark compares, each started fresh on the same bridge with
// an empty lease file in a temp dir and the same prefix, pool and options: hostnet's Dhcp6Server
// (dhcp/v6/server.ts) inside this process, as the agent runs it (the lease fdatasync'ed before
// the Reply), and Kea 2.2's kea-dhcp6 (memfile, persist: appended, never synced), stopped by pid.
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Dhcp6Server } from '../../dhcp/v6/server.js';
import type { Dhcp6Config } from '../../dhcp/v6/types.js';

export interface RunningServer6 {
  stop(): Promise<void>;
  /** What the server counted, for the log (hostnet only). */
  counters?(): unknown;
}

export interface BenchServer6 {
  name: string;
  /** How its leases reach the disk, for the table. */
  durability: string;
  /** Why it cannot run here (not installed), or null. */
  unavailable(): Promise<string | null>;
  start(netns: string, bridge: string, config: Dhcp6Config, dir: string): Promise<RunningServer6>;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const hostnet6: BenchServer6 = {
  name: 'hostnet',
  durability: 'fdatasync before Reply (group commit)',
  unavailable: () => Promise.resolve(null),
  async start(netns, bridge, config, dir) {
    const s = new Dhcp6Server({ netns, device: bridge, config, leaseFile: join(dir, 'hostnet.leases6') });
    await s.start();
    return { stop: () => s.stop(), counters: () => s.counters };
  },
};

/** A child process stopped by pid: SIGTERM, then SIGKILL after a grace period. */
async function stopChild(proc: ResultPromise): Promise<void> {
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await proc;
  clearTimeout(t);
}

export const kea6: BenchServer6 = {
  name: 'Kea 2.2 (kea-dhcp6, memfile)',
  durability: 'CSV appended, not fsynced',
  async unavailable() {
    const r = await execa('sh', ['-c', 'command -v kea-dhcp6'], { reject: false });
    return r.exitCode === 0 ? null : 'kea-dhcp6 not installed (Debian package kea-dhcp6-server)';
  },
  async start(netns, bridge, config, dir) {
    const p = config.pools[0];
    if (!p) throw new Error('bench/dhcp v6: the config needs one pool');
    const conf = {
      Dhcp6: {
        'interfaces-config': { interfaces: [bridge] },
        'lease-database': { type: 'memfile', persist: true, name: join(dir, 'kea-leases6.csv'), 'lfc-interval': 0 },
        // Its own DUID file (server-id) in the temp dir, not /var/lib/kea (which a fresh install may lack).
        'data-directory': dir,
        'preferred-lifetime': config.preferredLifetimeSec,
        'valid-lifetime': config.validLifetimeSec,
        // Same T1/T2 as hostnet sends (0.5 and 0.8 of the preferred lifetime).
        'renew-timer': Math.floor(config.preferredLifetimeSec / 2),
        'rebind-timer': Math.floor((config.preferredLifetimeSec * 4) / 5),
        subnet6: [{
          id: 1, subnet: config.prefix,
          // Direct (not relayed) clients are matched to a subnet by the interface they came in on.
          interface: bridge,
          pools: [{ pool: `${p.start} - ${p.end}` }],
          'option-data': [
            { name: 'dns-servers', data: (config.dnsServers ?? []).join(', ') },
            ...(config.searchDomains?.length ? [{ name: 'domain-search', data: config.searchDomains.join(', ') }] : []),
          ],
        }],
        loggers: [{ name: 'kea-dhcp6', output_options: [{ output: 'stdout' }], severity: 'WARN' }],
      },
    };
    const run = join(dir, 'kea-run');
    await mkdir(run, { recursive: true });
    const file = join(dir, 'kea-dhcp6.json');
    await writeFile(file, JSON.stringify(conf, null, 2));
    const proc = execa('ip', ['netns', 'exec', netns, 'kea-dhcp6', '-c', file], {
      reject: false, all: true, env: { KEA_PIDFILE_DIR: run, KEA_LOCKFILE_DIR: run }, stdin: 'ignore',
    });
    let exited = false;
    void proc.finally(() => (exited = true));
    // It prints nothing reliable when ready: wait for its lease file (written at start), then a moment.
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline && !(await access(join(dir, 'kea-leases6.csv')).then(() => true, () => false))) await pause(50);
    await pause(500);
    if (exited) {
      const r = await proc;
      throw new Error(`kea-dhcp6 in ${netns} on ${bridge} exited at start (${r.exitCode}): ${String(r.all ?? '').slice(-1500)}`);
    }
    return { stop: () => stopChild(proc) };
  },
};

export const benchServers6: readonly BenchServer6[] = [hostnet6, kea6];
