// The durable lease log: replay, torn tails, group commit, compaction.
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseStore } from '../../../dhcp/lease-store.js';
import type { Lease } from '../../../dhcp/types.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'hostnet-leases-'));
  file = join(dir, 'n1.leases');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function lease(i: number, over: Partial<Lease> = {}): Lease {
  const hex = (i & 0xff).toString(16).padStart(2, '0');
  return {
    network: 'n1', ip: `10.0.${i >> 8}.${i & 0xff}`, mac: `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${hex}`,
    state: 'bound', expiresAt: 1_000_000 + i, updatedAt: 1000, ...over,
  };
}

describe('LeaseStore', () => {
  it('persists leases across reopen; the latest record per address wins', async () => {
    const s = await LeaseStore.open(file);
    await s.commit(lease(1));
    await s.commit(lease(2, { clientId: '01aabbcc', hostname: 'vm2' }));
    await s.commit(lease(1, { state: 'released', expiresAt: 5 }));
    await s.close();
    const r = await LeaseStore.open(file);
    expect(r.all()).toHaveLength(2);
    expect(r.get('10.0.0.1')?.state).toBe('released');
    expect(r.get('10.0.0.2')).toEqual(lease(2, { clientId: '01aabbcc', hostname: 'vm2' }));
    expect(r.stats.records).toBe(3);
    await r.close();
  });

  it('finds a client by client id first, else by MAC', async () => {
    const s = await LeaseStore.open(file);
    await s.commit(lease(1, { mac: 'aa:aa:aa:aa:aa:aa', clientId: '01ff' }));
    await s.commit(lease(2, { mac: 'aa:aa:aa:aa:aa:aa' }));
    await s.commit(lease(3, { mac: 'bb:bb:bb:bb:bb:bb' }));
    expect(s.byClient('cc:cc:cc:cc:cc:cc', '01ff')?.ip).toBe('10.0.0.1');
    expect(s.byClient('aa:aa:aa:aa:aa:aa')?.ip).toBe('10.0.0.2');
    expect(s.byClient('bb:bb:bb:bb:bb:bb', '0199')?.ip).toBe('10.0.0.3'); // recorded without an id: MAC matches
    expect(s.byClient('aa:aa:aa:aa:aa:aa', '0177')?.ip).toBe('10.0.0.2');
    // Another client takes 10.0.0.3: its old owner no longer finds it.
    await s.commit(lease(3, { mac: 'dd:dd:dd:dd:dd:dd' }));
    expect(s.byClient('bb:bb:bb:bb:bb:bb')).toBeUndefined();
    // A declined address is not the decliner's lease.
    await s.commit(lease(4, { mac: 'ee:ee:ee:ee:ee:ee', state: 'declined' }));
    expect(s.byClient('ee:ee:ee:ee:ee:ee')).toBeUndefined();
    await s.close();
  });

  it('ignores a torn last record (crash mid-write), truncates it and appends cleanly after', async () => {
    const s = await LeaseStore.open(file);
    for (let i = 1; i <= 3; i++) await s.commit(lease(i));
    await s.close();
    const size = statSync(file).size;
    truncateSync(file, size - 20);
    const r = await LeaseStore.open(file);
    expect(r.all().map((l) => l.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(r.stats.skippedOnOpen).toBe(1);
    await r.commit(lease(4));
    await r.close();
    const again = await LeaseStore.open(file);
    expect(again.all().map((l) => l.ip)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.4']);
    expect(again.stats.skippedOnOpen).toBe(0);
    await again.close();
  });

  it('skips a corrupted record in the middle (checksum) and keeps the rest', async () => {
    const s = await LeaseStore.open(file);
    for (let i = 1; i <= 3; i++) await s.commit(lease(i));
    await s.close();
    writeFileSync(file, readFileSync(file, 'utf8').replace('10.0.0.2', '10.0.0.9'));
    appendFileSync(file, 'garbage line\n');
    const r = await LeaseStore.open(file);
    expect(r.all().map((l) => l.ip)).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(r.stats.skippedOnOpen).toBe(2);
    await r.close();
  });

  it('group commit: 1,000 concurrent commits share a handful of fsyncs, each durable when it resolves', async () => {
    const s = await LeaseStore.open(file);
    const notOnDisk: string[] = [];
    const commits = Array.from({ length: 1000 }, (_, i) => {
      const l = lease(i + 1);
      return s.commit(l).then(() => {
        // Spot-check (reading the file 1,000 times would dominate the test).
        if (i % 25 === 0 && !readFileSync(file, 'utf8').includes(`"ip":"${l.ip}"`)) notOnDisk.push(l.ip);
      });
    });
    await Promise.all(commits);
    expect(notOnDisk).toEqual([]);
    expect(s.stats.fsyncs).toBeLessThanOrEqual(2); // the same tick: one batch (two at most)
    expect(s.stats.records).toBe(1000);
    await s.close();
    expect((await LeaseStore.open(file)).all()).toHaveLength(1000);
  });

  it('group commit: commits issued while an fsync is in flight share the next one, and none resolves early', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const syncedRecords: number[] = []; // records in the file at each completed sync
    const s = await LeaseStore.open(file, {
      sync: async (fh) => {
        await fh.datasync();
        if (syncedRecords.length === 0) await gate; // hold the first fsync in flight
        syncedRecords.push(readFileSync(file, 'utf8').split('\n').length - 1);
      },
    });
    const resolvedEarly: number[] = [];
    const first = s.commit(lease(1));
    await new Promise((r) => setTimeout(r, 20)); // the first fsync is now in flight, held by the gate
    const later = Array.from({ length: 200 }, (_, i) =>
      s.commit(lease(i + 2)).then(() => {
        if ((syncedRecords[1] ?? 0) < 201) resolvedEarly.push(i);
      }));
    await new Promise((r) => setTimeout(r, 20));
    expect(s.stats.fsyncs).toBe(0);
    release();
    await Promise.all([first, ...later]);
    expect(s.stats.fsyncs).toBe(2);
    expect(syncedRecords).toEqual([1, 201]);
    expect(resolvedEarly).toEqual([]);
    await s.close();
  });

  it('compaction rewrites only the live records, atomically, and the store keeps working', async () => {
    const s = await LeaseStore.open(file);
    for (let round = 0; round < 50; round++) await Promise.all([1, 2, 3].map((i) => s.commit(lease(i, { updatedAt: round }))));
    expect(s.stats.records).toBe(150);
    await s.compact();
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
    expect(existsSync(`${file}.tmp`)).toBe(false);
    await s.commit(lease(4));
    await s.close();
    const r = await LeaseStore.open(file);
    expect(r.all()).toHaveLength(4);
    expect(r.get('10.0.0.2')?.updatedAt).toBe(49);
    await r.close();
  });

  it('compacts on its own once the log is past ratio x live records', async () => {
    const s = await LeaseStore.open(file, { compactRatio: 2, compactMinRecords: 10 });
    for (let round = 0; round < 20; round++) await s.commit(lease(1, { updatedAt: round }));
    expect(s.stats.compactions).toBeGreaterThan(0);
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeLessThanOrEqual(10);
    await s.close();
    expect((await LeaseStore.open(file)).get('10.0.0.1')?.updatedAt).toBe(19);
  });

  it('a failed fsync rejects its batch with the cause; later commits still work', async () => {
    let fail = true;
    const s = await LeaseStore.open(file, {
      sync: async (fh) => {
        if (fail) {
          fail = false;
          throw new Error('EIO: i/o error');
        }
        await fh.datasync();
      },
    });
    await expect(s.commit(lease(1))).rejects.toThrow(/commit 1 lease record\(s\) to .*n1.leases: EIO: i\/o error/);
    await s.commit(lease(2));
    await s.close();
    const r = await LeaseStore.open(file);
    expect(r.get('10.0.0.2')).toBeDefined();
    expect(r.stats.skippedOnOpen).toBe(0);
    await r.close();
  });

  it('refuses commits after close, naming the store', async () => {
    const s = await LeaseStore.open(file);
    await s.close();
    await expect(s.commit(lease(1))).rejects.toThrow(/commit lease 10.0.0.1 to .*n1.leases: store is closed/);
  });
});
