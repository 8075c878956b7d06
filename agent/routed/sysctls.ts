// The switches of routed devices, read and written inside the agent's namespace (/proc/sys/net
// shows the namespace of the process reading it). Writes are routers/forwarding.ts's batch (one
// `sh`, builtins only). The read is one `grep` over every file: its `$(cat ...)` per key costs
// about 4 s for the 3000 keys of 1000 TAPs, one grep a few ms. (dash's builtin `read` reads
// /proc/sys files byte by byte and gets only the first byte.) A key whose file does not exist
// prints nothing (-s) and reads as null.
import { execa } from 'execa';
import { DataplaneError } from '../../dataplane/errors.js';
import { commandIn } from '../../dataplane/netns-path.js';
import { sysctlBatch, type SysctlBatch } from '../routers/forwarding.js';

export function routedSysctlBatch(netns: string | null): SysctlBatch {
  const { write } = sysctlBatch(netns);
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
    write,
  };
}
