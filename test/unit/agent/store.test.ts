import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { DesiredStateStore, Mutex, STATE_FILE } from '../../../agent/desired/store.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'hostnet-store-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

const state = (generation: number, network = 'web'): DesiredState => DesiredState.fromPartial({
  generation,
  networks: [{ name: network, cidr: '192.168.10.0/24', ipFamily: 4, uplink: { kind: { $case: 'vlan', vlan: { parent: 'eth1', id: 600 } } } }],
  attachments: [{ name: 'vm1-nic0', network, kind: { $case: 'tap', tap: { ifName: 'tap-vm1', multiQueue: false, vnetHdr: true } }, ip: { mode: { $case: 'auto', auto: {} } } }],
});

describe('DesiredStateStore', () => {
  it('starts empty at generation 0 when there is no file (and creates the directory)', async () => {
    const store = new DesiredStateStore(path.join(dir, 'nested', 'state'));
    const r = await store.load();
    expect(r.source).toBe('empty');
    expect(r.state.generation).toBe(0);
    expect(r.state.networks).toEqual([]);
  });

  it('saves atomically and loads back the same state', async () => {
    const store = new DesiredStateStore(dir);
    await store.load();
    await store.save(state(3));
    expect(readdirSync(dir)).toEqual([STATE_FILE]);
    const again = new DesiredStateStore(dir);
    const r = await again.load();
    expect(r.source).toBe('file');
    expect(r.state).toEqual(state(3));
    expect(JSON.parse(readFileSync(path.join(dir, STATE_FILE), 'utf8')).networks[0].uplink).toEqual({ vlan: { parent: 'eth1', id: 600 } });
  });

  it('survives a crash in the middle of a write: the old state stays, the temp file is removed', async () => {
    const store = new DesiredStateStore(dir);
    await store.load();
    await store.save(state(3));
    // A write interrupted before its rename: a half-written temp file is left behind.
    const temp = path.join(dir, `.${STATE_FILE}.tmp-4242-deadbeef`);
    writeFileSync(temp, '{"generation": "4", "netw');
    const after = new DesiredStateStore(dir);
    const r = await after.load();
    expect(r.source).toBe('file');
    expect(r.state.generation).toBe(3);
    expect(r.removedTempFiles).toEqual([path.basename(temp)]);
    expect(readdirSync(dir)).toEqual([STATE_FILE]);
  });

  it('keeps a corrupt file aside, reports it, and starts empty', async () => {
    const file = path.join(dir, STATE_FILE);
    writeFileSync(file, '{"generation": 7, "networks": [');
    const store = new DesiredStateStore(dir);
    const r = await store.load();
    expect(r.source).toBe('corrupt');
    expect(r.state.generation).toBe(0);
    expect(r.error).toMatch(/unreadable/);
    expect(r.error).toContain(r.corruptPath);
    expect(readFileSync(r.corruptPath!, 'utf8')).toBe('{"generation": 7, "networks": [');
    // The next save writes a fresh file; the corrupt one is still kept.
    await store.save(state(1));
    expect(readdirSync(dir).sort()).toEqual([STATE_FILE, path.basename(r.corruptPath!)].sort());
  });

  it('treats a file with unknown fields as corrupt rather than guessing', async () => {
    writeFileSync(path.join(dir, STATE_FILE), JSON.stringify({ generation: 2, netwerks: [{ name: 'x' }] }));
    const r = await new DesiredStateStore(dir).load();
    expect(r.source).toBe('corrupt');
    expect(r.error).toMatch(/netwerks: unknown field/);
  });

  it('serializes concurrent updates (no lost update)', async () => {
    const store = new DesiredStateStore(dir);
    await store.load();
    await store.save(state(0));
    await Promise.all(Array.from({ length: 20 }, () => store.update(async (cur) => {
      await new Promise((r) => setTimeout(r, 1));
      return { ...cur, generation: cur.generation + 1 };
    })));
    expect(store.state.generation).toBe(20);
    expect((await new DesiredStateStore(dir).load()).state.generation).toBe(20);
  });

  it('a refused update writes nothing', async () => {
    const store = new DesiredStateStore(dir);
    await store.load();
    await store.save(state(2));
    const before = readFileSync(path.join(dir, STATE_FILE), 'utf8');
    await expect(store.update(() => { throw new Error('invalid'); })).rejects.toThrow('invalid');
    expect(readFileSync(path.join(dir, STATE_FILE), 'utf8')).toBe(before);
    expect(store.state.generation).toBe(2);
  });
});

describe('Mutex', () => {
  it('runs callbacks one at a time in call order, also after a failure', async () => {
    const m = new Mutex();
    const log: string[] = [];
    const task = (name: string, fail = false) => m.run(async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 2));
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    });
    const results = await Promise.allSettled([task('a'), task('b', true), task('c')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});
