// The independent witness: raw `ip -j -d` output, read without the backends' parsers, so a
// test checks the kernel's state and not a backend's opinion of it.
import { execa } from 'execa';

export type JsonRecord = Record<string, unknown>;

function records(v: unknown): JsonRecord[] {
  return Array.isArray(v) ? v.filter((x): x is JsonRecord => typeof x === 'object' && x !== null && !Array.isArray(x)) : [];
}

export function field(r: JsonRecord | undefined, key: string): string | number | boolean | undefined {
  const v = r?.[key];
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
}

export function nested(r: JsonRecord | undefined, key: string): JsonRecord | undefined {
  const v = r?.[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonRecord) : undefined;
}

/** Runs `ip [-n NS] ARGS` and returns stdout; throws with stderr on failure. */
export async function ip(netns: string | null, ...args: string[]): Promise<string> {
  const r = await execa('ip', [...(netns ? ['-n', netns] : []), ...args], { env: { LC_ALL: 'C' } });
  return r.stdout;
}

/** `ip -n NS -j -d ARGS` parsed: one record per object ip printed. */
export async function ipJson(netns: string, ...args: string[]): Promise<JsonRecord[]> {
  const out = await ip(netns, '-j', '-d', ...args);
  return out.trim() === '' ? [] : records(JSON.parse(out));
}

/** `bridge -n NS -j ARGS` parsed. */
export async function bridgeJson(netns: string, ...args: string[]): Promise<JsonRecord[]> {
  const r = await execa('bridge', ['-n', netns, '-j', ...args], { env: { LC_ALL: 'C' } });
  return r.stdout.trim() === '' ? [] : records(JSON.parse(r.stdout));
}

/** The fields of `ip -j -d link show` that tests look at. */
export interface WitnessLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address?: string;
  ifalias?: string;
  /** As ip prints it: "default" for 0, else the number as text. */
  group: string;
  master?: string;
  link?: string;
  linkIndex?: number;
  operstate: string;
  kind?: string;
  /** linkinfo.info_data */
  data: JsonRecord;
}

function toLink(r: JsonRecord): WitnessLink {
  const info = nested(r, 'linkinfo');
  const str = (k: string): string | undefined => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  return {
    ifindex: Number(r['ifindex']),
    ifname: String(r['ifname']),
    flags: Array.isArray(r['flags']) ? r['flags'].map(String) : [],
    mtu: Number(r['mtu']),
    address: str('address'),
    ifalias: str('ifalias'),
    group: String(r['group']),
    master: str('master'),
    link: str('link'),
    linkIndex: typeof r['link_index'] === 'number' ? r['link_index'] : undefined,
    operstate: String(r['operstate']),
    kind: typeof info?.['info_kind'] === 'string' ? info['info_kind'] : undefined,
    data: nested(info, 'info_data') ?? {},
  };
}

export async function ipLinks(netns: string): Promise<WitnessLink[]> {
  return (await ipJson(netns, 'link', 'show')).map(toLink);
}

export async function ipLink(netns: string, name: string): Promise<WitnessLink | undefined> {
  return (await ipLinks(netns)).find((l) => l.ifname === name);
}

/** Every address as "dev cidr" plus its flags record (nodad, dynamic, ...). */
export async function ipAddresses(netns: string): Promise<{ dev: string; cidr: string; family: string; info: JsonRecord }[]> {
  return (await ipJson(netns, 'addr', 'show')).flatMap((l) =>
    records(l['addr_info']).map((a) => ({
      dev: String(l['ifname']),
      cidr: `${String(a['local'])}/${String(a['prefixlen'])}`,
      family: String(a['family']),
      info: a,
    })));
}

/** `ip -j -d route show table all` (both families); -N so tables/protocols are numbers. */
export async function ipRoutes(netns: string): Promise<JsonRecord[]> {
  return ipJson(netns, '-N', 'route', 'show', 'table', 'all');
}

export async function ipNeighbours(netns: string): Promise<JsonRecord[]> {
  return ipJson(netns, 'neigh', 'show', 'nud', 'all');
}
