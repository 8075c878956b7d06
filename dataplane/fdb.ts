// What both backends share about bridge FDB entries: the checks on a spec, and the words for
// an entry's NUD state (iproute2's `bridge` prints them so; the netlink backend says the same).
import { invalid } from './errors.js';
import type { FdbSpec } from './types.js';
import { checkIfName, checkIp, checkMac, checkUint, checkVni } from './validate.js';

const NUD_REACHABLE = 0x02;
const NUD_STALE = 0x04;
const NUD_NOARP = 0x40;
const NUD_PERMANENT = 0x80;

/** iproute2's bridge/fdb.c state_n2a, with "reachable" where it prints nothing. */
export function fdbStateName(state: number): string {
  if (state & NUD_PERMANENT) return 'permanent';
  if (state & NUD_NOARP) return 'static';
  if (state & NUD_STALE) return 'stale';
  if (state & NUD_REACHABLE) return 'reachable';
  return `0x${state.toString(16)}`;
}

/** The object an FDB operation's errors name, e.g. "00:00:00:00:00:00 dst 10.0.0.2 on vx4242". */
export function fdbObject(s: FdbSpec): string {
  return `${s.mac}${s.dst !== undefined ? ` dst ${s.dst}` : ''}${s.port !== undefined ? ` port ${s.port}` : ''}${s.vni !== undefined ? ` vni ${s.vni}` : ''} on ${s.dev}`;
}

export function checkFdbSpec(op: string, s: FdbSpec): void {
  checkIfName(op, s.dev, 'dev');
  const object = fdbObject(s);
  // All zeros and multicast MACs are valid FDB keys (the flood list is all zeros).
  checkMac(op, object, s.mac, 'mac', false);
  if (s.dst !== undefined) checkIp(op, object, s.dst, 'dst');
  if (s.port !== undefined) {
    checkUint(op, object, s.port, 'port', 65535);
    if (s.port === 0) throw invalid(op, object, 'port 0 is not a UDP port');
  }
  if (s.vni !== undefined) checkVni(op, object, s.vni);
}
