// FRR's state as the agent reports it, read through vtysh's JSON output: BGP sessions from
// `show bgp summary json` (one object per address family, peers inside), VNIs and their remote
// VTEPs from zebra's `show evpn vni json`. vtysh talks to the daemons over their unix sockets
// (/var/run/frr/NAME), so it runs in the agent's own namespace. Every read has a short timeout:
// a hung daemon costs a pass at most that long.
import { execa } from 'execa';
import { canonicalIp } from '../../dataplane/ip.js';
import { describeInstance, pathspaceArgs, type FrrInstance } from './instance.js';

export interface PeerState {
  address: string;
  asn: number;
  /** FRR's session state, e.g. "Established", "Active", "Connect", "Idle". */
  state: string;
  /** EVPN prefixes received (0 when the session is down). */
  prefixesReceived: number;
  /** When the session came up (ms since the epoch, from its uptime at read time); null when not established. */
  establishedAt: number | null;
  /** How many times the session came up since bgpd started (a reload must not raise it). */
  connectionsEstablished: number;
}

export interface VniState {
  vni: number;
  vxlanInterface: string;
  remoteVteps: string[];
}

export interface FrrState {
  /** By canonical address; null when bgpd could not be read (see bgpError). */
  peers: Map<string, PeerState> | null;
  bgpError: string | null;
  /** By VNI; null when zebra could not be read (see zebraError). */
  vnis: Map<number, VniState> | null;
  zebraError: string | null;
  readAt: number;
}

export const STATE_READ_TIMEOUT_MS = 2_000;

/** One vtysh command's JSON; throws with vtysh's words on failure. */
export async function vtyshJson(instance: FrrInstance, command: string, timeoutMs = STATE_READ_TIMEOUT_MS): Promise<unknown> {
  const r = await execa(instance.vtysh, [...pathspaceArgs(instance), '-c', command], { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  const what = `vtysh "${command}" on ${describeInstance(instance)}`;
  if (r.timedOut) throw new Error(`${what}: no answer within ${timeoutMs} ms`);
  const said = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '' && !l.includes('vtysh.conf')).join('; ');
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode ?? r.signal}${said ? `: ${said.slice(0, 300)}` : ''}`);
  try {
    return JSON.parse(r.stdout.trim() || '{}');
  } catch (err) {
    throw new Error(`${what}: not JSON (${err instanceof Error ? err.message : String(err)}): ${r.stdout.slice(0, 200)}`);
  }
}

/** Reads bgpd and zebra at once; a daemon that cannot be read leaves its part null with the reason. */
export async function readFrrState(instance: FrrInstance, timeoutMs = STATE_READ_TIMEOUT_MS): Promise<FrrState> {
  const readAt = Date.now();
  const [bgp, vni] = await Promise.allSettled([
    vtyshJson(instance, 'show bgp summary json', timeoutMs),
    vtyshJson(instance, 'show evpn vni json', timeoutMs),
  ]);
  return {
    peers: bgp.status === 'fulfilled' ? parseBgpSummary(bgp.value, readAt) : null,
    bgpError: bgp.status === 'rejected' ? errText(bgp.reason) : null,
    vnis: vni.status === 'fulfilled' ? parseEvpnVnis(vni.value) : null,
    zebraError: vni.status === 'rejected' ? errText(vni.reason) : null,
    readAt,
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * `show bgp summary json`: { ipv4Unicast: { peers: { ADDR: {...} } }, l2VpnEvpn: {...} } ({}
 * without `router bgp`). A peer shows in every family it is active in: the session state is
 * one, the prefix count is EVPN's.
 */
export function parseBgpSummary(json: unknown, readAt: number): Map<string, PeerState> {
  const out = new Map<string, PeerState>();
  if (!isObject(json)) return out;
  const families = Object.entries(json).filter((e): e is [string, Json] => isObject(e[1]) && isObject(e[1]['peers']));
  // EVPN first: its prefix count is the one reported.
  families.sort(([a], [b]) => Number(b === 'l2VpnEvpn') - Number(a === 'l2VpnEvpn'));
  for (const [family, body] of families) {
    for (const [addr, p] of Object.entries(body['peers'] as Json)) {
      if (!isObject(p)) continue;
      const address = canonicalIp(addr) ?? addr;
      if (out.has(address)) continue;
      const state = typeof p['state'] === 'string' ? p['state'] : 'Unknown';
      const established = state === 'Established';
      out.set(address, {
        address,
        asn: num(p['remoteAs']),
        state,
        prefixesReceived: family === 'l2VpnEvpn' && established ? num(p['pfxRcd']) : 0,
        establishedAt: established ? readAt - num(p['peerUptimeMsec']) : null,
        connectionsEstablished: num(p['connectionsEstablished']),
      });
    }
  }
  return out;
}

/** `show evpn vni json`: { "4242": { vni, vxlanIf, remoteVteps: [...] } } ({} without VNIs). */
export function parseEvpnVnis(json: unknown): Map<number, VniState> {
  const out = new Map<number, VniState>();
  if (!isObject(json)) return out;
  for (const v of Object.values(json)) {
    if (!isObject(v) || typeof v['vni'] !== 'number') continue;
    const vteps = Array.isArray(v['remoteVteps']) ? v['remoteVteps'].filter((x): x is string => typeof x === 'string') : [];
    out.set(v['vni'], {
      vni: v['vni'],
      vxlanInterface: typeof v['vxlanIf'] === 'string' ? v['vxlanIf'] : '',
      remoteVteps: [...new Set(vteps)].sort(),
    });
  }
  return out;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
