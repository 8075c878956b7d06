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
  /** What is on disk: the reconciler's view. */
  private attachments: Attachment[] = [];
  /** What is on disk plus the changes staged since: what the next change is judged against. */
  private staged: Attachment[] = [];
  /** Changes staged so far, and how many of them are on disk. */
  private stagedSeq = 0;
  private durableSeq = 0;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** Bumped on every change on disk (EffectiveState's cache key). */
  version = 0;

  constructor(readonly dir: string) {}

  get file(): string {
    return path.join(this.dir, CNI_FILE);
  }

  /** The attachments on disk. */
  list(): readonly Attachment[] {
    return this.attachments;
  }

  /** The attachments with every staged change: what a new change must be consistent with. */
  pending(): readonly Attachment[] {
    return this.staged;
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
      this.staged = this.attachments;
      this.version++;
      return null;
    } catch (err) {
      const keptAs = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.file, keptAs);
      return `CNI attachments ${this.file} unreadable (${(err as Error).message}); kept as ${keptAs}`;
    }
  }

  /**
   * Stages `add` (in place of any attachment of the same name) and the removal of `remove`;
   * returns the change's number for commit(). Synchronous: call it under the agent's change lock.
   */
  stage(add: readonly Attachment[], remove: ReadonlySet<string> = new Set()): number {
    const names = new Set(add.map((a) => a.name));
    this.staged = [...this.staged.filter((a) => !names.has(a.name) && !remove.has(a.name)), ...add];
    return ++this.stagedSeq;
  }

  /**
   * Resolves once change `seq` is on disk. Group commit: changes staged while a write is in
   * flight go out together in the next one, so 100 parallel ADDs cost a few fsyncs, not 100.
   */
  async commit(seq: number): Promise<void> {
    while (this.durableSeq < seq) {
      this.queued ??= this.writeNext();
      await this.queued;
    }
  }

  private async writeNext(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    this.queued = null;
    const snapshot = this.staged;
    const upTo = this.stagedSeq;
    const write = (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const text = `${JSON.stringify({ attachments: snapshot.map((a) => Attachment.toJSON(a)) }, null, 1)}\n`;
      await replaceFileDurably(this.file, `${this.file}.tmp`, text);
    })();
    this.inFlight = write;
    try {
      await write;
      this.attachments = snapshot;
      this.durableSeq = upTo;
      this.version++;
    } catch (err) {
      // Every change of this write fails; they stay staged and go out with the next write (a
      // failed ADD the runtime then DELs, a DEL it retries): better than a later change
      // reported stored that never was.
      throw new Error(`store CNI attachments ${this.file}: ${(err as Error).message}`);
    } finally {
      if (this.inFlight === write) this.inFlight = null;
    }
  }
}
