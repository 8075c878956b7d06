// Bridge FDB entries through iproute2's `bridge` binary: the command words for append and
// delete, `bridge -j fdb show dev X` and `bridge -o monitor fdb` lines parsed into FdbEntry.
// `bridge` speaks the same rtnetlink as the netlink backend; only the text differs.
import { execa } from 'execa';
import { DataplaneError } from '../errors.js';
import { checkFdbSpec } from '../fdb.js';
import type { FdbEntry, FdbSpec } from '../types.js';
import type { IpInvocation } from './exec.js';
import { num, objects, str, strings } from './json.js';

/** `bridge` in a namespace: `-n NAME` for a named one, nsenter for a path (as for `ip`). */
export function bridgeInvocation(netns: string | null): IpInvocation {
  if (netns === null) return { file: 'bridge', args: [] };
  if (!netns.includes('/')) return { file: 'bridge', args: ['-n', netns] };
  return { file: 'nsenter', args: [`--net=${netns}`, '--', 'bridge'] };
}

/** `fdb append|del MAC dev DEV [dst IP] [port P] [vni N] self permanent`, checked first. */
export function fdbLine(verb: 'append' | 'del', op: string, s: FdbSpec): string[] {
  checkFdbSpec(op, s);
  const words = ['fdb', verb, s.mac.toLowerCase(), 'dev', s.dev];
  if (s.dst !== undefined) words.push('dst', s.dst);
  if (s.port !== undefined) words.push('port', String(s.port));
  if (s.vni !== undefined) words.push('vni', String(s.vni));
  words.push('self', 'permanent');
  return words;
}

// bridge's texts are matched in English, as ip's are.
const env = { LC_ALL: 'C', LANG: 'C' };

export type BridgeOutcome = { ok: true; stdout: string } | { ok: false; message: string };

/** One `bridge` process (FDB changes are few: no batching). */
export async function runBridge(inv: IpInvocation, args: string[]): Promise<BridgeOutcome> {
  const r = await execa(inv.file, [...inv.args, ...args], { env, reject: false });
  if (r.exitCode === undefined) throw new DataplaneError('run', inv.file, r.code ?? 'EIO', r.message ?? `could not run ${inv.file}`);
  return r.exitCode === 0 ? { ok: true, stdout: r.stdout } : { ok: false, message: r.stderr };
}

/** `bridge -j fdb show dev DEV` (which leaves the device's name out of each entry). */
export function parseFdbJson(raw: unknown, dev: string, index: number): FdbEntry[] {
  return objects(raw).flatMap((o): FdbEntry[] => {
    const mac = str(o, 'mac');
    if (mac === undefined) return [];
    const flags = strings(o, 'flags');
    const e: FdbEntry = {
      index, dev: str(o, 'ifname') ?? dev, mac: mac.toLowerCase(),
      // The bridge's entries carry "master": "BR" (NDA_MASTER); the flag is rarely set.
      self: flags.includes('self'), master: flags.includes('master') || str(o, 'master') !== undefined,
      // bridge prints "" for NUD_REACHABLE.
      state: str(o, 'state') || 'reachable',
    };
    const dst = str(o, 'dst');
    if (dst !== undefined) e.dst = dst;
    const port = num(o, 'port');
    if (port !== undefined) e.port = port;
    const vni = num(o, 'vni');
    if (vni !== undefined) e.vni = vni;
    const vlan = num(o, 'vlan');
    if (vlan !== undefined) e.vlan = vlan;
    if (flags.includes('extern_learn')) e.externLearn = true;
    return [e];
  });
}

const STATES = new Set(['permanent', 'static', 'stale']);
const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * One line of `bridge -o monitor fdb`: "[Deleted ]MAC dev DEV [dst IP] [vlan V] [port P] [vni N]
 * ... [self] [extern_learn] ... [master BR] [STATE]" (bridge/fdb.c print_fdb). The NTF_MASTER
 * flag is printed only as "master BR". Null for lines that are not an entry.
 */
export function parseFdbMonitorLine(line: string): { action: 'new' | 'del'; fdb: FdbEntry } | null {
  let words = line.trim().split(/\s+/);
  let action: 'new' | 'del' = 'new';
  if (words[0] === 'Deleted') {
    action = 'del';
    words = words.slice(1);
  }
  const mac = words[0];
  if (mac === undefined || !macPattern.test(mac)) return null;
  const after = (key: string): string | undefined => {
    const i = words.indexOf(key, 1);
    return i >= 0 ? words[i + 1] : undefined;
  };
  const dev = after('dev');
  if (dev === undefined) return null;
  const last = words[words.length - 1]!;
  const e: FdbEntry = {
    index: 0, dev, mac: mac.toLowerCase(),
    self: words.includes('self'), master: after('master') !== undefined,
    state: STATES.has(last) ? last : last.startsWith('state=') ? last.slice('state='.length) : 'reachable',
  };
  const dst = after('dst');
  if (dst !== undefined) e.dst = dst;
  for (const key of ['port', 'vni', 'vlan'] as const) {
    const v = after(key);
    if (v !== undefined && /^\d+$/.test(v)) e[key] = Number(v);
  }
  if (words.includes('extern_learn')) e.externLearn = true;
  return { action, fdb: e };
}
