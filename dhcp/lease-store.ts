// Durable leases of ONE network: an append-only log of lease records, replayed on open.
// Commits are group-committed: a commit waits for the next write+fdatasync, and every commit
// issued while one is in flight shares the following one, so durability costs one fsync per
// batch rather than per lease. The in-memory view changes at commit() time (so the handler's
// next decision already sees the lease); the promise says when it is on disk.
// The store is generic over the record (DHCPv4 leases by default; DHCPv6 passes its own
// RecordFormat): what differs is the line's codec and which client keys index a record.
import { constants as fsConstants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir, replaceFileDurably } from '../dataplane/fs.js';
import { decodeLeaseRecord, encodeLeaseRecord } from './lease-record.js';
import type { Lease } from './types.js';

/** What the store needs of a record: its address (one live record per address) and state. */
export interface StoredRecord {
  ip: string;
  state: string;
}

/** How records of one kind are written, read back, and found by client. */
export interface RecordFormat<L extends StoredRecord> {
  /** One line including its newline. */
  encode(record: L): string;
  /** The record of a line (without its newline); undefined when torn or not a record. */
  decode(line: string): L | undefined;
  /** Client keys that find this record (the latest record per key wins). */
  keys(record: L): string[];
}

/** DHCPv4 leases: keyed by client id and MAC. */
export const leaseFormat: RecordFormat<Lease> = { encode: encodeLeaseRecord, decode: decodeLeaseRecord, keys: clientKeys };

export interface LeaseStoreOptions<L extends StoredRecord = Lease> {
  /** The record kind; default DHCPv4 leases. */
  format?: RecordFormat<L>;
  /** Accepted for symmetry with the handler; records are stored as given (expiry is the handler's call). */
  now?: () => number;
  /** Compact automatically when the log holds more than this many times the live records (default 4). */
  compactRatio?: number;
  /** ... and at least this many records (default 1000), so small files are left alone. */
  compactMinRecords?: number;
  /** Makes appended data durable (default: fdatasync). Injectable so tests can hold or count it. */
  sync?: (fh: FileHandle) => Promise<void>;
}

export interface LeaseStoreStats {
  /** Batches written and fdatasync'ed. */
  fsyncs: number;
  /** Records in the file now (live and superseded). */
  records: number;
  /** Records skipped on open: torn tail or checksum mismatch. */
  skippedOnOpen: number;
  compactions: number;
}

interface PendingCommit {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class LeaseStore<L extends StoredRecord = Lease> {
  readonly stats: LeaseStoreStats;
  private readonly byIp = new Map<string, L>();
  /** The format's client keys (v4: "id:<hex>" and "mac:<mac>") -> the client's most recent record. */
  private readonly byKeyMap = new Map<string, L>();
  private readonly format: RecordFormat<L>;
  private pending: PendingCommit[] = [];
  private compactWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private loop: Promise<void> | null = null;
  private closed = false;
  /** A failed write may have left a partial line: start the next one on a fresh line. */
  private needsNewline = false;
  private readonly compactRatio: number;
  private readonly compactMinRecords: number;
  private readonly sync: (fh: FileHandle) => Promise<void>;
  /** After a failed automatic compaction, wait until the log has grown this far before retrying. */
  private autoCompactFloor = 0;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    options: LeaseStoreOptions<L>,
    stats: LeaseStoreStats,
  ) {
    this.stats = stats;
    this.format = options.format ?? (leaseFormat as unknown as RecordFormat<L>);
    this.compactRatio = options.compactRatio ?? 4;
    this.compactMinRecords = options.compactMinRecords ?? 1000;
    this.sync = options.sync ?? ((fh) => fh.datasync());
  }

  static async open<L extends StoredRecord = Lease>(path: string, options: LeaseStoreOptions<L> = {}): Promise<LeaseStore<L>> {
    let text = '';
    let existed = true;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`open lease store ${path}: ${(e as Error).message}`);
      existed = false;
    }
    const lastNewline = text.lastIndexOf('\n');
    const complete = text.slice(0, lastNewline + 1);
    const stats: LeaseStoreStats = { fsyncs: 0, records: 0, skippedOnOpen: 0, compactions: 0 };
    let fh: FileHandle;
    try {
      fh = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND, 0o600);
      // A crash mid-write leaves a line without its newline: cut it off so appends start clean.
      if (complete.length < text.length) {
        stats.skippedOnOpen++;
        await fh.truncate(Buffer.byteLength(complete, 'utf8'));
        await fh.datasync();
      }
      if (!existed) await fsyncDir(dirname(path));
    } catch (e) {
      throw new Error(`open lease store ${path}: ${(e as Error).message}`);
    }
    const store = new LeaseStore<L>(path, fh, options, stats);
    for (const line of complete.split('\n')) {
      if (line === '') continue;
      const lease = store.format.decode(line);
      if (lease) {
        store.apply(lease);
        stats.records++;
      } else {
        stats.skippedOnOpen++;
      }
    }
    return store;
  }

  get(ip: string): L | undefined {
    return this.byIp.get(ip);
  }

  /** The most recent record indexed under `key` (one of the format's keys). */
  byKey(key: string): L | undefined {
    return this.byKeyMap.get(key);
  }

  /** The client's most recent lease; with a client id, a lease recorded without one also matches by MAC. */
  byClient(mac: string, clientId?: string): L | undefined {
    if (clientId) {
      const byId = this.byKeyMap.get(`id:${clientId}`);
      if (byId) return byId;
      const byMac = this.byKeyMap.get(`mac:${mac}`);
      return byMac && (byMac as Partial<Lease>).clientId === undefined ? byMac : undefined;
    }
    return this.byKeyMap.get(`mac:${mac}`);
  }

  all(): L[] {
    return [...this.byIp.values()];
  }

  commit(lease: L): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`commit lease ${lease.ip} to ${this.path}: store is closed`));
    const copy = { ...lease };
    this.apply(copy);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: this.format.encode(copy), resolve, reject });
      this.kick();
    });
  }

  compact(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`compact lease store ${this.path}: store is closed`));
    return new Promise<void>((resolve, reject) => {
      this.compactWaiters.push({ resolve, reject });
      this.kick();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.loop) await this.loop;
    await this.fh.close();
  }

  private apply(lease: L): void {
    const prev = this.byIp.get(lease.ip);
    if (prev) {
      for (const key of this.format.keys(prev)) if (this.byKeyMap.get(key) === prev) this.byKeyMap.delete(key);
    }
    this.byIp.set(lease.ip, lease);
    // A declined address is not the decliner's: never hand it back to that client as "its" lease.
    if (lease.state !== 'declined') for (const key of this.format.keys(lease)) this.byKeyMap.set(key, lease);
  }

  private kick(): void {
    // Deferred by a microtask so commits issued in the same tick share the first write.
    this.loop ??= Promise.resolve().then(() => this.drain()).finally(() => {
      this.loop = null;
      if (this.pending.length > 0 || this.compactWaiters.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.compactWaiters.length > 0) {
      if (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.append(batch.map((p) => p.line).join(''));
          this.stats.records += batch.length;
          for (const p of batch) p.resolve();
        } catch (e) {
          const err = new Error(`commit ${batch.length} lease record(s) to ${this.path}: ${(e as Error).message}`);
          for (const p of batch) p.reject(err);
        }
      }
      const records = this.stats.records;
      const auto = records > this.compactMinRecords && records > this.autoCompactFloor && records > this.compactRatio * Math.max(1, this.byIp.size);
      if (this.compactWaiters.length > 0 || auto) {
        const waiters = this.compactWaiters;
        this.compactWaiters = [];
        try {
          await this.rewrite();
          for (const w of waiters) w.resolve();
        } catch (e) {
          const err = new Error(`compact lease store ${this.path}: ${(e as Error).message}`);
          for (const w of waiters) w.reject(err);
          this.autoCompactFloor = records * 2; // do not retry on every batch
        }
      }
    }
  }

  private async append(text: string): Promise<void> {
    const data = Buffer.from(this.needsNewline ? `\n${text}` : text, 'utf8');
    this.needsNewline = true;
    let off = 0;
    while (off < data.length) off += (await this.fh.write(data, off, data.length - off)).bytesWritten;
    await this.sync(this.fh);
    this.stats.fsyncs++;
    this.needsNewline = false;
  }

  /** Atomic rewrite with only the latest record per address: temp file, fsync, rename, fsync dir. */
  private async rewrite(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const text = [...this.byIp.values()].map((r) => this.format.encode(r)).join('');
    await replaceFileDurably(this.path, tmp, text);
    const old = this.fh;
    this.fh = await open(this.path, fsConstants.O_WRONLY | fsConstants.O_APPEND, 0o600);
    await old.close();
    this.stats.records = this.byIp.size;
    this.stats.compactions++;
    this.needsNewline = false;
  }
}

function clientKeys(lease: Lease): string[] {
  return lease.clientId ? [`id:${lease.clientId}`, `mac:${lease.mac}`] : [`mac:${lease.mac}`];
}
