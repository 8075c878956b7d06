// Writing one sysctl inside a network namespace (per-namespace keys such as a device's
// net.ipv4.conf.<dev>.*): sysctl(8) run in the namespace, the key in its slash form so a
// device name with dots stays one path component.
import { execa } from 'execa';
import { DataplaneError } from './errors.js';
import { commandIn } from './netns-path.js';

/** `path`: the key under /proc/sys, e.g. ["net", "ipv4", "conf", "net1", "promote_secondaries"]. */
export async function setSysctl(netns: string | null, path: readonly string[], value: string): Promise<void> {
  const key = path.join('/');
  const inv = commandIn(netns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
  const r = await execa(inv.file, inv.args, { reject: false });
  if (r.exitCode !== 0) throw new DataplaneError('set sysctl', `${key} in ${netns ?? 'own namespace'}`, 'EIO', (r.stderr || r.message || 'sysctl failed').trim());
}
