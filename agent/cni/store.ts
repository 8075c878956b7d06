// Attachments a container runtime made through hostnet-cni, on disk beside the control plane's
// desired state: <state-dir>/cni-attachments.json, replaced atomically and durably before the
// agent acts on a change, so they survive restarts and kill -9. The control plane's Apply
// never sees, changes or removes them (effective.ts joins the two for the reconciler).
import { readFile, rename, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { replaceFileDurably } from '../../dataplane/fs.js';
import { Attachment } from '../api/gen/hostnet/v1/resources.js';

export const CNI_FILE = 'cni-attachments.json';

export class CniAttachmentStore {
  private attachments: Attachment[] = [];
  /** Bumped on every change (EffectiveState's cache key). */
  version = 0;

  constructor(readonly dir: string) {}

  get file(): string {
    return path.join(this.dir, CNI_FILE);
  }

  list(): readonly Attachment[] {
    return this.attachments;
  }

  /**
   * Reads the file; one that cannot be read is kept aside (never deleted) and reported, and the
   * agent starts without CNI attachments (their devices stay until a GC or DEL names them).
   */
  async load(): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Error(`read CNI attachments ${this.file}: ${(err as Error).message}`);
    }
    try {
      const raw = JSON.parse(text) as { attachments?: unknown };
      if (!Array.isArray(raw.attachments)) throw new Error('no "attachments" list');
      this.attachments = raw.attachments.map((a) => Attachment.fromJSON(a));
      this.version++;
      return null;
    } catch (err) {
      const keptAs = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.file, keptAs);
      return `CNI attachments ${this.file} unreadable (${(err as Error).message}); kept as ${keptAs}`;
    }
  }

  /** Stores the list with `add` in place of any attachment of the same name and without `remove`. */
  async replace(add: readonly Attachment[], remove: ReadonlySet<string> = new Set()): Promise<void> {
    const names = new Set(add.map((a) => a.name));
    const next = [...this.attachments.filter((a) => !names.has(a.name) && !remove.has(a.name)), ...add];
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const text = `${JSON.stringify({ attachments: next.map((a) => Attachment.toJSON(a)) }, null, 1)}\n`;
    await replaceFileDurably(this.file, `${this.file}.tmp`, text);
    this.attachments = next;
    this.version++;
  }
}
