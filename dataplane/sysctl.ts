// Sysctls inside a network namespace (per-namespace keys such as a device's
// net.ipv4.conf.<dev>.*), the key in its slash form so a device name with dots stays one path
// component: one key with sysctl(8), or many at once (sysctlBatch) with one process each way.
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

export interface SysctlBatch {
  /** The values of these keys (slash form, under /proc/sys); null where the key does not exist. */
  read(keys: readonly string[]): Promise<Map<string, string | null>>;
  /** Writes every key, all or as many as possible; throws naming the first one that failed. */
  write(values: ReadonlyArray<readonly [string, string]>): Promise<void>;
}

const WRITE = 'rc=0; for kv; do k=${kv%%=*}; if ! echo "${kv#*=}" > "/proc/sys/$k"; then echo "$k" >&2; rc=1; fi; done; exit $rc';

/**
 * Many sysctls read and written with one process each way (never one per key), inside the
 * namespace (/proc/sys/net shows the namespace of the process reading it). The read is one
 * `grep` over every file: a `$(cat ...)` per key costs about 4 s for the 3000 keys of 1000
 * devices. A key whose file does not exist reads as null.
 */
export function sysctlBatch(netns: string | null): SysctlBatch {
  return {
    async read(keys) {
      const out = new Map<string, string | null>(keys.map((k) => [k, null]));
      if (keys.length === 0) return out;
      const inv = commandIn(netns, 'grep', ['-s', '-H', '', ...keys.map((k) => `/proc/sys/${k}`)]);
      const r = await execa(inv.file, inv.args, { reject: false });
      // grep: 0 lines found, 1 none, 2 a file missing (silent with -s: null) or a real error (said on stderr).
      if (r.exitCode === undefined || r.exitCode > 2 || (r.exitCode === 2 && r.stderr.trim() !== '')) {
        throw new DataplaneError('read sysctls', `${keys.length} keys in ${netns ?? 'own namespace'}`, 'EIO', (r.stderr || r.message || 'grep failed').trim());
      }
      for (const line of r.stdout.split('\n')) {
        // "/proc/sys/<key>:<value>": device names hold no ':' (the kernel refuses it).
        const colon = line.indexOf(':');
        if (colon < 0 || !line.startsWith('/proc/sys/')) continue;
        const key = line.slice('/proc/sys/'.length, colon);
        if (out.has(key)) out.set(key, line.slice(colon + 1).trim());
      }
      return out;
    },
    async write(values) {
      if (values.length === 0) return;
      const inv = commandIn(netns, 'sh', ['-c', WRITE, 'sh', ...values.map(([k, v]) => `${k}=${v}`)]);
      const r = await execa(inv.file, inv.args, { reject: false });
      if (r.exitCode !== 0) {
        const failed = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('sh:'));
        throw new DataplaneError('set sysctl', `${failed.join(', ') || values.map(([k]) => k).join(', ')} in ${netns ?? 'own namespace'}`, 'EIO',
          (r.stderr.split('\n').find((l) => l.startsWith('sh:')) ?? r.message ?? 'write failed').trim());
      }
    },
  };
}
