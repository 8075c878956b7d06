// br_netfilter hands bridged IPv4/IPv6 packets to the inet netfilter hooks (and so to
// connection tracking). The module is host-wide; the bridge-nf-call-ip(6)tables switches are
// per network namespace, so they are set from inside the namespace.
import { access, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { DataplaneError } from './errors.js';
import { commandIn } from './netns-path.js';

const KEYS = ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'];

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

/** Loads br_netfilter if needed and turns both switches on in `netns` (null: our own). */
export async function enableBridgeNetfilter(netns: string | null): Promise<void> {
  if (!(await exists('/proc/sys/net/bridge/bridge-nf-call-iptables'))) {
    const r = await execa('modprobe', ['br_netfilter'], { reject: false });
    if (r.exitCode !== 0) throw new DataplaneError('load module', 'br_netfilter', 'ENOENT', (r.stderr || r.message || 'modprobe failed').trim());
  }
  const inv = commandIn(netns, 'sysctl', ['-q', '-w', ...KEYS.map((k) => `${k}=1`)]);
  const r = await execa(inv.file, inv.args, { reject: false });
  if (r.exitCode !== 0) throw new DataplaneError('enable bridge netfilter', netns ?? 'own namespace', 'EIO', (r.stderr || r.message || 'sysctl failed').trim());
}

/** Whether both switches are on in our own namespace (for tests and status). */
export async function bridgeNetfilterEnabled(): Promise<boolean> {
  for (const k of KEYS) {
    const v = await readFile(`/proc/sys/${k.replace(/\./g, '/')}`, 'utf8').catch(() => '0');
    if (v.trim() !== '1') return false;
  }
  return true;
}
