// DHCPv6 leases in the shared durable lease log (dhcp/lease-store.ts with lease6Format):
// replay by address and by IA (DUID + IAID), a torn last record, group commit, compaction,
// and a v4 record in a v6 file (or the reverse) skipped rather than misread.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseStore } from '../../../dhcp/lease-store.js';
import { encodeLeaseRecord } from '../../../dhcp/lease-record.js';
import { lease6Format } from '../../../dhcp/v6/lease-record.js';
import { iaKey, type Lease6 } from '../../../dhcp/v6/types.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'hostnet-leases6-'));
  file = join(dir, 'n6.leases');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const DUID = '000300015254000000';
function lease(i: number, over: Partial<Lease6> = {}): Lease6 {
  return {
    network: 'n6', ip: `fd00:77::${(0x100 + i).toString(16)}`, duid: `${DUID}${(i & 0xff).toString(16).padStart(2, '0')}`, iaid: 1,
    mac: `52:54:00:00:00:${(i & 0xff).toString(16).padStart(2, '0')}`, state: 'bound', expiresAt: 1_000_000 + i, updatedAt: 1000, ...over,
  };
}
const open = () => LeaseStore.open<Lease6>(file, { format: lease6Format });

describe('LeaseStore with DHCPv6 leases', () => {
  it('persists leases across reopen, found by address and by IA; the latest record wins', async () => {
    const s = await open();
    await s.commit(lease(1));
    await s.commit(lease(2, { iaid: 7 }));
    await s.commit(lease(1, { state: 'released', expiresAt: 5 }));
    await s.close();
    const r = await open();
    expect(r.all()).toHaveLength(2);
    expect(r.get('fd00:77::101')?.state).toBe('released');
    expect(r.byKey(iaKey(lease(2).duid, 7))).toEqual(lease(2, { iaid: 7 }));
    expect(r.byKey(iaKey(lease(2).duid, 1))).toBeUndefined();
    await r.close();
  });

  it('a declined address is not its decliner\'s binding any more', async () => {
    const s = await open();
    await s.commit(lease(1));
    await s.commit(lease(1, { state: 'declined' }));
    expect(s.byKey(iaKey(lease(1).duid, 1))).toBeUndefined();
    expect(s.get('fd00:77::101')?.state).toBe('declined');
    await s.close();
  });

  it('skips a torn last record (crash mid-write), truncates it and appends cleanly after', async () => {
    const s = await open();
    for (let i = 1; i <= 3; i++) await s.commit(lease(i));
    await s.close();
    const full = lease6Format.encode(lease(4));
    appendFileSync(file, full.slice(0, full.length - 12)); // no newline: cut off mid-record
    const r = await open();
    expect(r.stats.skippedOnOpen).toBe(1);
    expect(r.all().map((l) => l.ip)).toEqual(['fd00:77::101', 'fd00:77::102', 'fd00:77::103']);
    await r.commit(lease(5));
    await r.close();
    const again = await open();
    expect(again.stats.skippedOnOpen).toBe(0);
    expect(again.get('fd00:77::105')).toEqual(lease(5));
    await again.close();
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(4);
  });

  it('a record of the wrong kind (a v4 lease) or a bad checksum is skipped', async () => {
    writeFileSync(file, encodeLeaseRecord({ network: 'n4', ip: '10.0.0.1', mac: '52:54:00:00:00:01', state: 'bound', expiresAt: 1, updatedAt: 1 })
      + lease6Format.encode(lease(1)).replace('fd00:77::101', 'fd00:77::999'));
    const r = await open();
    expect(r.all()).toEqual([]);
    expect(r.stats.skippedOnOpen).toBe(2);
    await r.close();
  });

  it('group commit: commits issued together share one fsync', async () => {
    let syncs = 0;
    const s = await LeaseStore.open<Lease6>(file, { format: lease6Format, sync: async (fh) => { syncs++; await fh.datasync(); } });
    await Promise.all([1, 2, 3, 4, 5].map((i) => s.commit(lease(i))));
    expect(syncs).toBe(1);
    await s.close();
  });

  it('compaction keeps the latest v6 record per address', async () => {
    const s = await open();
    for (let k = 0; k < 5; k++) await s.commit(lease(1, { updatedAt: k }));
    await s.commit(lease(2));
    await s.compact();
    await s.close();
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    const r = await open();
    expect(r.get('fd00:77::101')?.updatedAt).toBe(4);
    await r.close();
  });
});
