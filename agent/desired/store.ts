// The desired state on disk: one JSON file (proto3 JSON mapping) in the state directory,
// replaced atomically (temp file, fsync, rename, fsync of the directory), so a crash at any
// point leaves either the old or the new state. A file that cannot be read back is renamed
// aside (never deleted) and reported. Calls are serialized by an async mutex.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { desiredStateFromJson, desiredStateToJson } from '../api/desired-state.js';
import { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { fsyncDir, replaceFileDurably } from '../../dataplane/fs.js';

export const STATE_FILE = 'desired-state.json';
const TEMP_PREFIX = `.${STATE_FILE}.tmp-`;

/** Runs callbacks one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export interface LoadResult {
  state: DesiredState;
  /**
   * 'file': read from disk; 'empty': no file yet (generation 0); 'corrupt': the file could not
   * be read back and was renamed to `corruptPath`; the state is then empty, and the caller
   * must not tear down devices because of it (adopt only until a new state is applied).
   */
  source: 'file' | 'empty' | 'corrupt';
  corruptPath?: string;
  /** Why the file was corrupt. */
  error?: string;
  /** Temp files of interrupted writes that were removed. */
  removedTempFiles: string[];
}

export class DesiredStateStore {
  private readonly mutex = new Mutex();
  private current: DesiredState = DesiredState.fromPartial({});

  constructor(readonly dir: string) {}

  get file(): string {
    return path.join(this.dir, STATE_FILE);
  }

  /** The state as last loaded or saved. */
  get state(): DesiredState {
    return this.current;
  }

  /** Reads the stored state (creating the directory if needed). Call once on start. */
  load(): Promise<LoadResult> {
    return this.mutex.run(async () => {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      const removedTempFiles = await this.removeTempFiles();
      let text: string;
      try {
        text = await fs.readFile(this.file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.current = DesiredState.fromPartial({});
        return { state: this.current, source: 'empty', removedTempFiles };
      }
      try {
        this.current = desiredStateFromJson(JSON.parse(text), this.file);
        return { state: this.current, source: 'file', removedTempFiles };
      } catch (err) {
        const corruptPath = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        await fs.rename(this.file, corruptPath);
        await fsyncDir(this.dir);
        this.current = DesiredState.fromPartial({});
        return {
          state: this.current, source: 'corrupt', corruptPath, removedTempFiles,
          error: `stored desired state ${this.file} is unreadable (${(err as Error).message}); kept as ${corruptPath}`,
        };
      }
    });
  }

  /** Replaces the stored state atomically and durably. */
  save(state: DesiredState): Promise<void> {
    return this.mutex.run(() => this.write(state));
  }

  /**
   * Read-modify-write under the lock: `fn` gets the current state and returns the next one
   * (or throws to refuse: nothing is written then).
   */
  update<T extends DesiredState>(fn: (current: DesiredState) => Promise<T> | T): Promise<T> {
    return this.mutex.run(async () => {
      const next = await fn(this.current);
      await this.write(next);
      return next;
    });
  }

  /** Runs `fn` under the store's lock without writing (e.g. validate + plan + apply). */
  exclusive<T>(fn: (current: DesiredState) => Promise<T> | T): Promise<T> {
    return this.mutex.run(() => fn(this.current));
  }

  private async write(state: DesiredState): Promise<void> {
    const temp = path.join(this.dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    await replaceFileDurably(this.file, temp, desiredStateToJson(state));
    this.current = DesiredState.fromPartial(state);
  }

  private async removeTempFiles(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await fs.readdir(this.dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      await fs.rm(path.join(this.dir, name), { force: true });
      removed.push(name);
    }
    return removed;
  }
}
