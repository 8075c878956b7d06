// The nftables witness for port security tests: `nft -j list ...` run inside a namespace with
// the system's nft (not the agent's runner), and a canonical form of a ruleset that two
// rulesets can be compared by (handles and counter values left out, objects sorted by kind
// and name, rules kept in their chain's order, set elements sorted).
import { execa } from 'execa';

type Item = Record<string, Record<string, unknown>>;

export const NFT = '/usr/sbin/nft';

/** `nft -j list ARGS` in `netns`: the "nftables" items, or null when the object does not exist. */
export async function nftList(netns: string, ...args: string[]): Promise<Item[] | null> {
  const r = await execa('ip', ['netns', 'exec', netns, NFT, '-j', 'list', ...args], { reject: false });
  if (r.exitCode !== 0) {
    if (/No such file or directory/.test(r.stderr)) return null;
    throw new Error(`nft -j list ${args.join(' ')} in ${netns}: ${r.stderr}`);
  }
  return (JSON.parse(r.stdout) as { nftables: Item[] }).nftables;
}

/** Runs nft commands (text syntax) in `netns`, as an operator would by hand. */
export async function nftRun(netns: string, commands: string): Promise<void> {
  await execa('ip', ['netns', 'exec', netns, NFT, commands]);
}

export interface CanonicalRuleset {
  table: Record<string, unknown>;
  chain: Record<string, unknown>;
  set: Record<string, unknown>;
  map: Record<string, unknown>;
  counter: Record<string, unknown>;
  rule: Record<string, unknown[]>;
}

/** The whole ruleset of `netns` in canonical form. */
export async function canonicalRuleset(netns: string): Promise<CanonicalRuleset> {
  const items = (await nftList(netns, 'ruleset')) ?? [];
  const out: Record<string, Record<string, unknown>> = { table: {}, chain: {}, set: {}, map: {}, counter: {}, rule: {} };
  for (const item of items) {
    const [kind, body] = Object.entries(item)[0]!;
    if (kind === 'metainfo') continue;
    const { handle: _h, packets: _p, bytes: _b, ...rest } = body;
    const where = `${String(rest['family'])} ${String(rest['table'] ?? '')}`;
    if (kind === 'rule') {
      const key = `${where} ${String(rest['chain'])}`;
      const list = (out['rule']![key] ??= []) as unknown[];
      list.push(rest['expr']);
    } else {
      if ((kind === 'set' || kind === 'map') && Array.isArray(rest['elem'])) rest['elem'] = (rest['elem'] as unknown[]).map((e) => JSON.stringify(e)).sort();
      out[kind] ??= {};
      out[kind]![`${where} ${String(rest['name'])}`] = rest;
    }
  }
  const sorted = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y)));
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, sorted(v)])) as unknown as CanonicalRuleset;
}

/** Chain names of a table ("bridge hostnet" or "inet hostnet") in a canonical ruleset. */
export function chainsOf(r: CanonicalRuleset, table: string): string[] {
  return Object.keys(r.chain).filter((k) => k.startsWith(`${table} `)).map((k) => k.slice(table.length + 1));
}

/** A named counter's packets, or null when it does not exist. */
export async function counterPackets(netns: string, family: 'bridge' | 'inet', name: string): Promise<number | null> {
  const items = await nftList(netns, 'counter', family, 'hostnet', name);
  const c = items?.find((i) => i['counter'])?.['counter'];
  return c ? Number(c['packets'] ?? 0) : null;
}
