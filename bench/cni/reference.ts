// Debian's own reference plugins as the comparison: `bridge` with `host-local` IPAM
// (containernetworking-plugins in /usr/lib/cni), run in a "host" namespace of the benchmark's
// own, so the bridge, the host-side veths and ip_forward are set there and nowhere else.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { linksIn, type Family } from './phase.js';

export const REFERENCE_CNI_PATH = '/usr/lib/cni';
const BRIDGE = 'hbc0';
const NETWORK = 'hbc-ref';

export interface Reference {
  family: Family;
  /** The Debian package's version (the 1.1.1 binaries report "version unknown" themselves). */
  version: string;
  close(): Promise<void>;
}

export async function openReference(hostNs: string): Promise<Reference> {
  for (const p of ['bridge', 'host-local']) {
    if (!existsSync(path.join(REFERENCE_CNI_PATH, p))) throw new Error(`reference plugins: ${REFERENCE_CNI_PATH}/${p} missing (apt-get install containernetworking-plugins)`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-bench-cni-ref-'));
  const dataDir = path.join(dir, 'ipam');
  const config = {
    cniVersion: '1.0.0', // the newest this Debian's plugins (1.1.1) speak
    name: NETWORK,
    type: 'bridge',
    bridge: BRIDGE,
    isGateway: true,
    ipam: { type: 'host-local', subnet: '10.88.0.0/16', dataDir },
  };
  const v = await execa('dpkg-query', ['-W', '-f', '${Version}', 'containernetworking-plugins'], { reject: false });
  const version = v.exitCode === 0 && v.stdout.trim() !== '' ? v.stdout.trim() : 'unknown';
  const family: Family = {
    key: 'ref',
    hostNs,
    type: 'bridge',
    cniPath: [REFERENCE_CNI_PATH],
    config,
    leftovers: async () => {
      const links = (await linksIn(hostNs)).filter((l) => l !== 'lo' && l !== BRIDGE);
      // host-local keeps one file per address it handed out, plus its lock and cursor.
      const held = existsSync(path.join(dataDir, NETWORK))
        ? (await readdir(path.join(dataDir, NETWORK))).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
        : [];
      return [...links.map((l) => `link ${l}`), ...held.map((a) => `host-local reservation ${a}`)];
    },
  };
  return { family, version, close: () => rm(dir, { recursive: true, force: true }) };
}
