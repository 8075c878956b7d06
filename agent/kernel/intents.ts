// Devices hostnet is about to create, recorded durably before the kernel is asked. Creating a
// device takes several requests (the kernel ignores IFLA_IFALIAS on create, so the ownership
// marker comes second; a TAP is made by ioctl first): a crash between them leaves a device
// without the marker, which hostnet would otherwise refuse as foreign (NameTaken) forever.
// With the intent on disk, a restarted agent recognises such a device as its own half-made
// one and finishes it (or recreates it), as Incus records ownership before the device exists.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { replaceFileDurably } from '../../dataplane/fs.js';
import type { Link } from '../../dataplane/types.js';
import { parseOwnerAlias } from '../naming.js';

export class CreationIntents {
  private names = new Set<string>();

  /** `file`: where intents live (null: in memory only, for tests and tools). */
  constructor(private readonly file: string | null) {}

  /** Reads the recorded intents; a missing or unreadable file means none. */
  async load(): Promise<void> {
    if (!this.file) return;
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      if (Array.isArray(parsed)) this.names = new Set(parsed.filter((x): x is string => typeof x === 'string'));
    } catch {
      this.names = new Set();
    }
  }

  /** Names of devices that may exist half-made by hostnet (no marker yet). */
  get pending(): ReadonlySet<string> {
    return this.names;
  }

  /** Records these names (with those still pending) before they are created. */
  async record(names: readonly string[]): Promise<void> {
    const fresh = names.filter((n) => !this.names.has(n));
    if (fresh.length === 0) return;
    for (const n of fresh) this.names.add(n);
    await this.write();
  }

  /**
   * Drops intents that are settled: the device carries hostnet's marker, or does not exist
   * (never made, or removed). Writes only when something was dropped.
   */
  async settle(links: readonly Link[]): Promise<void> {
    if (this.names.size === 0) return;
    const byName = new Map(links.map((l) => [l.name, l]));
    let dropped = false;
    for (const n of [...this.names]) {
      const l = byName.get(n);
      if (!l || parseOwnerAlias(l.alias)) {
        this.names.delete(n);
        dropped = true;
      }
    }
    if (dropped) await this.write();
  }

  private async write(): Promise<void> {
    if (!this.file) return;
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o750 });
    await replaceFileDurably(this.file, `${this.file}.tmp`, JSON.stringify([...this.names].sort()));
  }
}
