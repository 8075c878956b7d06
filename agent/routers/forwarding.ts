// The per-device forwarding switches the routers turn on, read and written inside the agent's
// namespace (/proc/sys/net shows the namespace of the process reading it: one `sh` under
// nsenter per batch, never one process per key), and the record of which ones hostnet turned
// on, kept in the state directory: a switch found on is left alone, and one hostnet turned on
// goes back off when no router needs it, also after an agent restart.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { DataplaneError } from '../../dataplane/errors.js';
import { replaceFileDurably } from '../../dataplane/fs.js';
import { commandIn } from '../../dataplane/netns-path.js';

export interface SysctlBatch {
  /** The values of these keys (slash form, under /proc/sys); null where the key does not exist. */
  read(keys: readonly string[]): Promise<Map<string, string | null>>;
  /** Writes every key, all or as many as possible; throws naming the first one that failed. */
  write(values: ReadonlyArray<readonly [string, string]>): Promise<void>;
}

const READ = 'for k; do if v=$(cat "/proc/sys/$k" 2>/dev/null); then printf "%s\\n" "$v"; else echo "-"; fi; done';
const WRITE = 'rc=0; for kv; do k=${kv%%=*}; if ! echo "${kv#*=}" > "/proc/sys/$k"; then echo "$k" >&2; rc=1; fi; done; exit $rc';

export function sysctlBatch(netns: string | null): SysctlBatch {
  return {
    async read(keys) {
      const out = new Map<string, string | null>();
      if (keys.length === 0) return out;
      const inv = commandIn(netns, 'sh', ['-c', READ, 'sh', ...keys]);
      const r = await execa(inv.file, inv.args, { reject: false });
      if (r.exitCode !== 0) throw new DataplaneError('read sysctls', `${keys.length} keys in ${netns ?? 'own namespace'}`, 'EIO', (r.stderr || r.message || 'sh failed').trim());
      const lines = r.stdout.split('\n');
      keys.forEach((k, i) => out.set(k, lines[i] === undefined || lines[i] === '-' ? null : lines[i]!.trim()));
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

/** The keys hostnet turned from 0 to 1, stored as JSON so a restarted agent still knows them. */
export class ForwardingRecord {
  private keys: Set<string> | null = null;
  constructor(private readonly file: string) {}

  async load(): Promise<Set<string>> {
    if (this.keys) return this.keys;
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as { turnedOn?: unknown };
      this.keys = new Set(Array.isArray(parsed.turnedOn) ? parsed.turnedOn.filter((k): k is string => typeof k === 'string') : []);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`read forwarding record ${this.file}: ${(err as Error).message}`);
      this.keys = new Set();
    }
    return this.keys;
  }

  async save(keys: Set<string>): Promise<void> {
    this.keys = keys;
    await mkdir(path.dirname(this.file), { recursive: true });
    await replaceFileDurably(this.file, `${this.file}.tmp`, `${JSON.stringify({ turnedOn: [...keys].sort() }, null, 2)}\n`);
  }
}
