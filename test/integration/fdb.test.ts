// Bridge FDB entries on every backend, in a namespace, witnessed with `bridge -j fdb show`: the
// flood list of a VXLAN device (several all-zeros entries), appends that are there already,
// deletes of what is not there (a no-op), a missing device, and the watch's 'fdb' kind.
import { readdir, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataplaneError } from '../../dataplane/errors.js';
import { bridgeJson, ip } from '../../dataplane/testing/ip.js';
import type { Dataplane, DataplaneEvent, DataplaneWatch, FdbEntry } from '../../dataplane/types.js';
import { assertNoLeftoverTestNetns } from '../lib/leftovers.js';
import { useNetns } from '../lib/netns.js';
import { backends } from './backends.js';
import { waitFor as waitForValue } from '../lib/wait-for.js';

afterAll(async () => {
  await assertNoLeftoverTestNetns(process.pid);
});

const ZEROS = '00:00:00:00:00:00';

/** test/lib/wait-for.ts, polling every 10 ms, 5 s unless told. */
const waitFor = <T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> => waitForValue(what, probe, timeoutMs, 10);

/** The witness: `bridge -j fdb show dev DEV`, as "mac dst[:port][/vni]" words, sorted. */
async function witness(ns: string, dev: string): Promise<string[]> {
  const rows = await bridgeJson(ns, 'fdb', 'show', 'dev', dev);
  return rows.map((r) => `${String(r['mac'])} ${String(r['dst'] ?? '-')}${r['port'] ? `:${String(r['port'])}` : ''}${r['vni'] ? `/${String(r['vni'])}` : ''}`).sort();
}

const words = (entries: FdbEntry[]): string[] =>
  entries.map((e) => `${e.mac} ${e.dst ?? '-'}${e.port ? `:${e.port}` : ''}${e.vni ? `/${e.vni}` : ''}`).sort();

/** `bridge ... monitor` processes of a namespace (the iproute2 backend's fdb watch). */
async function bridgeMonitorPids(netns: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').then((t) => t.split('\0'), () => [] as string[]);
    if (argv.includes('monitor') && argv.includes(netns) && argv[0]?.endsWith('bridge')) pids.push(Number(entry));
  }
  return pids;
}

describe.each(backends)('$name backend: bridge FDB', (backend) => {
  const ns = useNetns(1, 'each', 'fdb');
  let dp: Dataplane;
  let watch: DataplaneWatch | null = null;

  beforeEach(async () => {
    dp = await backend.open(ns[0]!);
    await dp.ensureVxlan({ name: 'vx42', vni: 42, local: '10.0.0.1', port: 4789, learning: false, up: true });
  });
  afterEach(async () => {
    watch?.close();
    watch = null;
    await dp?.close();
  });

  it('appends a flood list (one all-zeros entry per remote), lists it as bridge(8) shows it', async () => {
    await dp.appendFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.2' });
    await dp.appendFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.3' });
    await dp.appendFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.4', port: 4790, vni: 77 });
    await dp.appendFdb({ dev: 'vx42', mac: '02:00:00:00:00:aa', dst: '10.0.0.9' });
    // Once more: appending what is there changes nothing.
    await dp.appendFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.2' });
    const want = ['00:00:00:00:00:00 10.0.0.2', '00:00:00:00:00:00 10.0.0.3', '00:00:00:00:00:00 10.0.0.4:4790/77', '02:00:00:00:00:aa 10.0.0.9'];
    expect(await witness(ns[0]!, 'vx42')).toEqual(want);
    const listed = await dp.listFdb('vx42');
    expect(words(listed)).toEqual(want);
    const index = (await dp.getLink('vx42'))!.index;
    for (const e of listed) expect(e).toMatchObject({ index, dev: 'vx42', self: true, master: false, state: 'permanent' });
    // The port the device uses anyway reads back as no port (the kernel leaves it out).
    await dp.appendFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.5', port: 4789 });
    expect(words(await dp.listFdb('vx42'))).toContain('00:00:00:00:00:00 10.0.0.5');
  });

  it('deletes only the remote named; deleting what is not there is a no-op', async () => {
    for (const dst of ['10.0.0.2', '10.0.0.3']) await dp.appendFdb({ dev: 'vx42', mac: ZEROS, dst });
    await dp.deleteFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.2' });
    expect(await witness(ns[0]!, 'vx42')).toEqual(['00:00:00:00:00:00 10.0.0.3']);
    // The MAC has other remotes (the kernel says nothing) ...
    await dp.deleteFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.2' });
    await dp.deleteFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.3' });
    // ... or none at all (the kernel says ENOENT): both succeed.
    await dp.deleteFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.3' });
    await dp.deleteFdb({ dev: 'vx42', mac: '02:00:00:00:00:bb', dst: '10.0.0.3' });
    expect(await witness(ns[0]!, 'vx42')).toEqual([]);
    expect(await dp.listFdb('vx42')).toEqual([]);
  });

  it('a missing device: append is ENODEV naming the entry, delete and list are no-ops', async () => {
    const err = await dp.appendFdb({ dev: 'nope0', mac: ZEROS, dst: '10.0.0.2' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DataplaneError);
    expect((err as DataplaneError).code).toBe('ENODEV');
    expect((err as DataplaneError).message).toMatch(/^append fdb entry 00:00:00:00:00:00 dst 10\.0\.0\.2 on nope0: /);
    await dp.deleteFdb({ dev: 'nope0', mac: ZEROS, dst: '10.0.0.2' });
    expect(await dp.listFdb('nope0')).toEqual([]);
  });

  it('bad input is EINVAL before anything is sent', async () => {
    const err = await dp.appendFdb({ dev: 'vx42', mac: ZEROS, dst: 'not-an-ip' }).then(() => null, (e: unknown) => e);
    expect((err as DataplaneError).code).toBe('EINVAL');
    expect(await witness(ns[0]!, 'vx42')).toEqual([]);
  });

  it("lists a bridge port's entries too (master), and only that device's", async () => {
    await ip(ns[0]!, 'link', 'add', 'fbr0', 'type', 'bridge');
    await ip(ns[0]!, 'link', 'set', 'vx42', 'master', 'fbr0');
    await execa('bridge', ['-n', ns[0]!, 'fdb', 'add', '02:00:00:00:00:cc', 'dev', 'vx42', 'master', 'static']);
    await dp.appendFdb({ dev: 'vx42', mac: ZEROS, dst: '10.0.0.2' });
    const listed = await dp.listFdb('vx42');
    expect(listed.find((e) => e.mac === '02:00:00:00:00:cc')).toMatchObject({ dev: 'vx42', master: true, self: false });
    expect(listed.find((e) => e.mac === ZEROS)).toMatchObject({ dst: '10.0.0.2', self: true });
    expect(listed.every((e) => e.dev === 'vx42')).toBe(true);
  });

  it("the watch's 'fdb' kind reports entries added and deleted by hand, and nothing else", async () => {
    const events: DataplaneEvent[] = [];
    watch = await dp.watch({ onEvent: (e) => events.push(e), onResync: () => undefined }, ['fdb']);
    await execa('bridge', ['-n', ns[0]!, 'fdb', 'append', ZEROS, 'dev', 'vx42', 'dst', '10.0.0.7']);
    await ip(ns[0]!, 'address', 'add', '192.0.2.1/24', 'dev', 'vx42');
    await ip(ns[0]!, 'neigh', 'replace', '192.0.2.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'vx42', 'nud', 'permanent');
    await execa('bridge', ['-n', ns[0]!, 'fdb', 'del', ZEROS, 'dev', 'vx42', 'dst', '10.0.0.7']);
    const deleted = await waitFor('the deletion', () => events.find((e) => e.kind === 'fdb' && e.action === 'del'));
    const added = events.find((e) => e.kind === 'fdb' && e.action === 'new' && e.fdb.dst === '10.0.0.7');
    expect(added).toBeDefined();
    expect(deleted.kind === 'fdb' && deleted.fdb).toMatchObject({ mac: ZEROS, dst: '10.0.0.7', self: true, state: 'permanent' });
    // netlink: the ifindex (no names without link events); iproute2: the name (bridge prints no ifindex).
    const index = (await dp.getLink('vx42'))!.index;
    if (deleted.kind === 'fdb') expect(deleted.fdb.index === index || deleted.fdb.dev === 'vx42').toBe(true);
    expect(events.filter((e) => e.kind !== 'fdb')).toEqual([]);
    // The ARP entry (AF_INET, same kernel group) is no FDB entry.
    expect(events.filter((e) => e.kind === 'fdb' && e.fdb.mac === '02:00:00:00:00:09')).toEqual([]);
    if (backend.name === 'iproute2') {
      expect(await bridgeMonitorPids(ns[0]!)).toHaveLength(1);
      watch.close();
      const deadline = Date.now() + 2000;
      while ((await bridgeMonitorPids(ns[0]!)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await bridgeMonitorPids(ns[0]!)).toEqual([]);
    }
  });

  it('a watch of neighbours and links alongside fdb reports each kind', async () => {
    const events: DataplaneEvent[] = [];
    watch = await dp.watch({ onEvent: (e) => events.push(e), onResync: () => undefined }, ['link', 'fdb']);
    await ip(ns[0]!, 'link', 'set', 'vx42', 'mtu', '1400');
    await execa('bridge', ['-n', ns[0]!, 'fdb', 'append', ZEROS, 'dev', 'vx42', 'dst', '10.0.0.8']);
    await waitFor('the link change', () => events.find((e) => e.kind === 'link' && e.link.mtu === 1400));
    const e = await waitFor('the fdb entry', () => events.find((x) => x.kind === 'fdb' && x.fdb.dst === '10.0.0.8'));
    // With link events the netlink watch names the device too.
    if (backend.name === 'netlink' && e.kind === 'fdb') expect(e.fdb.dev).toBe('vx42');
  });
});
