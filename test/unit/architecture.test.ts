// Which way the arrows point (docs: shared design note, "Dependencies point one way"), checked on
// every file's imports: agent -> dhcp, dataplane; dhcp -> a few named dataplane files;
// dataplane -> nothing of ours; bench and test apart; no import cycles between files.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCycles, moduleGraph, readImportGraph, type ImportEdge } from '../lib/import-graph.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Generated protobuf types import only each other and packages; skipping them keeps the scan fast.
const graph = readImportGraph(ROOT, ['agent', 'dataplane', 'dhcp', 'bench', 'test'], (rel) => rel === 'agent/api/gen');

/**
 * What dhcp may use of the dataplane, and why. Anything else (the netlink backend's internals,
 * the iproute2 backend, the codec) stays behind these. Adding a file here is a design decision:
 * say why.
 */
const DHCP_MAY_IMPORT: Record<string, { why: string; only?: string }> = {
  'dataplane/ip4.ts': { why: 'the one IP-address model, IPv4 as numbers (pure, no I/O)' },
  'dataplane/ip.ts': { why: 'the one IP-address model, both families and CIDRs (pure, no I/O)' },
  'dataplane/fs.ts': { why: 'the one durable-replace helper (temp, fsync, rename, fsync dir) for the lease file' },
  'dataplane/types.ts': { why: 'the Dataplane interface: neighbour entries for leased addresses' },
  'dataplane/errors.ts': { why: 'DataplaneError, so a socket failure reads like every other one' },
  'dataplane/netlink/netns.ts': { why: 'inNetns: the DHCP socket is opened inside the network namespace' },
  'dataplane/netlink/libc.ts': { why: 'socket/setsockopt/bind bindings (SO_BINDTODEVICE), one koffi binding of libc' },
  'dataplane/netlink/backend.ts': { why: 'the standalone server opens its own dataplane', only: 'dhcp/serve-main.ts' },
};

const top = (file: string): string => file.split('/')[0]!;
const isTesting = (file: string): boolean => file.split('/')[1] === 'testing';
const show = (es: ImportEdge[]): string[] => es.map((e) => `${e.from} -> ${e.to}`);

/** Whether `e` breaks a rule; the reason if it does. */
function wrongWay(e: ImportEdge): string | undefined {
  const [from, to] = [top(e.from), top(e.to)];
  if (from === 'dataplane' && to !== 'dataplane') return 'dataplane imports nothing of ours';
  if (from === 'dataplane' && isTesting(e.to) && !isTesting(e.from)) return 'product code never imports a testing package';
  if (from === 'dhcp' && to === 'dataplane') {
    // A testing package may use the dataplane's testing package (namespaces, ip runner).
    if (isTesting(e.from) && isTesting(e.to)) return undefined;
    const allowed = DHCP_MAY_IMPORT[e.to];
    if (!allowed) return `dhcp reaches the dataplane only through ${Object.keys(DHCP_MAY_IMPORT).join(', ')}`;
    if (allowed.only && allowed.only !== e.from) return `only ${allowed.only} may import ${e.to}`;
    return undefined;
  }
  if (from === 'dhcp' && to !== 'dhcp') return 'dhcp imports only dhcp/ and a few dataplane files';
  if ((from === 'agent' || from === 'dhcp') && isTesting(e.to) && !isTesting(e.from)) return 'product code never imports a testing package';
  if (['agent', 'dataplane', 'dhcp'].includes(from) && (to === 'test' || to === 'bench')) return 'product code never imports test/ or bench/';
  if (from === 'bench' && to === 'test') return 'bench never imports test/ (use the */testing packages)';
  if (from === 'test' && to === 'bench') return 'test never imports bench/';
  return undefined;
}

describe('architecture: imports', () => {
  it('scans the tree', () => {
    expect(graph.files.length).toBeGreaterThan(100);
    expect(graph.edges.length).toBeGreaterThan(200);
  });

  it('every relative import resolves to a file', () => {
    expect(show(graph.edges.filter((e) => !e.resolved))).toEqual([]);
  });

  it('arrows point one way', () => {
    const bad = graph.edges.filter((e) => e.resolved).flatMap((e) => {
      const why = wrongWay(e);
      return why ? [`${e.from} -> ${e.to}: ${why}`] : [];
    });
    expect(bad).toEqual([]);
  });

  it('the rules see the arrows they are about (a rule that matches nothing proves nothing)', () => {
    const edges = graph.edges.filter((e) => e.resolved);
    expect(edges.some((e) => top(e.from) === 'agent' && top(e.to) === 'dhcp')).toBe(true);
    expect(edges.some((e) => top(e.from) === 'dhcp' && top(e.to) === 'dataplane')).toBe(true);
    expect(edges.some((e) => top(e.from) === 'bench' && isTesting(e.to))).toBe(true);
    expect(wrongWay({ from: 'dataplane/x.ts', to: 'agent/naming.ts', resolved: true })).toBeDefined();
    expect(wrongWay({ from: 'dhcp/x.ts', to: 'dataplane/nl/link.ts', resolved: true })).toBeDefined();
    expect(wrongWay({ from: 'dhcp/x.ts', to: 'dataplane/netlink/backend.ts', resolved: true })).toBeDefined();
    expect(wrongWay({ from: 'dhcp/x.ts', to: 'agent/naming.ts', resolved: true })).toBeDefined();
    expect(wrongWay({ from: 'bench/x.ts', to: 'test/lib/netns.ts', resolved: true })).toBeDefined();
    expect(wrongWay({ from: 'test/x.ts', to: 'bench/lib/table.ts', resolved: true })).toBeDefined();
    expect(wrongWay({ from: 'agent/main.ts', to: 'agent/testing/launch.ts', resolved: true })).toBeDefined();
  });

  it('no import cycles between files', () => {
    const cycles = findCycles(graph).map((c) => c.join(' -> '));
    expect(cycles).toEqual([]);
  });

  it('no import cycles between modules (a directory under agent/, dhcp/, dataplane/, ...; or a file directly in one)', () => {
    const modules = moduleGraph(graph);
    const hop = (from: string, to: string): string => {
      const files = modules.via.get(`${from} ${to}`);
      return files === `${from} -> ${to}` ? to : `${to} (${files})`;
    };
    const cycles = findCycles(modules).map((c) => c.map((m, i) => (i === 0 ? m : hop(c[i - 1]!, m))).join(' -> '));
    expect(cycles).toEqual([]);
  });

  it('the cycle finder finds a cycle and names its path', () => {
    const files = ['a.ts', 'b.ts', 'c.ts', 'd.ts'];
    const edge = (from: string, to: string): ImportEdge => ({ from, to, resolved: true });
    const cycles = findCycles({ files, edges: [edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts'), edge('c.ts', 'd.ts')] });
    expect(cycles).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(findCycles({ files, edges: [edge('d.ts', 'd.ts')] })).toEqual([['d.ts', 'd.ts']]);
    expect(findCycles({ files, edges: [edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts')] })).toEqual([]);
  });
});
