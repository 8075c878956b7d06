// The per-device forwarding switches the routers turn on, read and written inside the agent's
// namespace (/proc/sys/net shows the namespace of the process reading it: one `sh` under
// nsenter per batch, never one process per key), and the record of which ones hostnet turned
// on, kept in the state directory: a switch found on is left alone, and one hostnet turned on
// goes back off when no router needs it, also after an agent restart.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DataplaneError } from '../../dataplane/errors.js';
import { replaceFileDurably } from '../../dataplane/fs.js';
import type { SysctlBatch } from '../../dataplane/sysctl.js';

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
