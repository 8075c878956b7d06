// Random and mutated DHCPv6 client messages for robustness tests (and a benchmark that wants a
// hostile load), from a seeded generator so a failure can be replayed from its seed. Valid
// messages are built with the codec (dhcp/v6) and then broken by hand at the byte level:
// truncations, option lengths that lie, bit flips, option soups, huge option counts, relay
// messages, message types a server never accepts, malformed DUIDs and nested options.
import {
  clientId, elapsedTime, iaNa, option6, optionRequest, rapidCommit, serverId, OPT6, type Dhcp6Option, type Duid,
} from '../v6/options/index.js';
import { DHCP6, encodeDhcp6 } from '../v6/packet.js';

import { Rng as Rng6 } from './rng.js';

export { Rng6 };

export type Fuzz6Kind =
  | 'random' | 'truncated' | 'bad-option-length' | 'bit-flip' | 'option-soup' | 'huge-option-count' | 'relay'
  | 'wrong-type' | 'bad-duid' | 'bad-nested' | 'weird-valid' | 'valid';

export const FUZZ6_KINDS: readonly Fuzz6Kind[] = [
  'random', 'truncated', 'bad-option-length', 'bit-flip', 'option-soup', 'huge-option-count', 'relay',
  'wrong-type', 'bad-duid', 'bad-nested', 'weird-valid', 'valid',
];

export interface Fuzz6Context {
  /** The server's DUID: Request/Renew/Release/Decline name it to be taken seriously. */
  serverDuid: Duid;
  /** The served prefix's first 64 bits as text ending in "::", e.g. "fd00:6f::". */
  prefix64: string;
  /** How many distinct clients (DUIDs) the valid-looking messages come from: bounds the leases. */
  clients: number;
}

/** The four messages a client starts with, plus the rest of RFC 8415's client messages. */
const VALID_TYPES = [DHCP6.SOLICIT, DHCP6.REQUEST, DHCP6.RENEW, DHCP6.INFORMATION_REQUEST] as const;
const OTHER_CLIENT_TYPES = [DHCP6.CONFIRM, DHCP6.REBIND, DHCP6.RELEASE, DHCP6.DECLINE] as const;

function hex4(n: number): string {
  return (n & 0xffff).toString(16);
}

/** A MAC in the locally administered range; `n` picks one of `clients`. */
function mac(n: number): string {
  return ['02', 'f6', '00', '00', ((n >> 8) & 0xff).toString(16).padStart(2, '0'), (n & 0xff).toString(16).padStart(2, '0')].join(':');
}

/** A client's DUID: mostly DUID-LLT (what dhclient makes), sometimes LL, EN or UUID. */
export function clientDuid(r: Rng6, n: number): Duid {
  switch (n % 8) {
    case 0: return { type: 'll', hardwareType: 1, linkLayerAddress: mac(n) };
    case 1: return { type: 'en', enterpriseNumber: 32473, identifier: n.toString(16).padStart(8, '0') };
    case 2: return { type: 'uuid', uuid: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` };
    default: return { type: 'llt', hardwareType: 1, time: 700_000_000 + (n % 3), linkLayerAddress: mac(n) };
  }
}

function inPrefix(r: Rng6, ctx: Fuzz6Context): string {
  return `${ctx.prefix64}${hex4(r.int(3))}:${hex4(r.next())}:${hex4(r.next())}:${hex4(r.next())}`;
}

function iaOpt(iaid: number, addresses: string[]): Dhcp6Option {
  return option6(iaNa, {
    iaid, t1: 0, t2: 0, otherOptions: [],
    addresses: addresses.map((address) => ({ address, preferredLifetime: 0, validLifetime: 0, otherOptions: [] })),
  });
}

/**
 * A well-formed client message of `type` from client number `n` (of ctx.clients unless given):
 * client id, IA_NA (with an address for Request/Renew/Rebind/Release/Decline/Confirm), server id
 * where the type needs one, option request (DNS, search list), elapsed time.
 */
export function validMessage(r: Rng6, ctx: Fuzz6Context, type: number, n = r.int(ctx.clients)): Buffer {
  const options: Dhcp6Option[] = [option6(clientId, clientDuid(r, n))];
  const needsServer = type === DHCP6.REQUEST || type === DHCP6.RENEW || type === DHCP6.RELEASE || type === DHCP6.DECLINE;
  if (needsServer) options.push(option6(serverId, ctx.serverDuid));
  if (type !== DHCP6.INFORMATION_REQUEST) options.push(iaOpt(n, type === DHCP6.SOLICIT ? [] : [inPrefix(r, ctx)]));
  options.push(option6(optionRequest, [OPT6.DNS_SERVERS, OPT6.DOMAIN_SEARCH]));
  options.push(option6(elapsedTime, r.int(3000)));
  if (type === DHCP6.SOLICIT && r.int(4) === 0) options.push(option6(rapidCommit, true));
  return encodeDhcp6({ msgType: type, transactionId: r.next() & 0xffffff, options });
}

/** A Solicit from a client never seen before (client number `n`, beyond ctx.clients): the flood. */
export function floodSolicit(r: Rng6, ctx: Fuzz6Context, n: number): Buffer {
  return encodeDhcp6({
    msgType: DHCP6.SOLICIT,
    transactionId: r.next() & 0xffffff,
    options: [option6(clientId, clientDuid(r, ctx.clients + n)), iaOpt(1, []), option6(elapsedTime, 0)],
  });
}

/** Raw option framing, for payloads the codec would refuse to write. */
function raw(code: number, data: Buffer, len = data.length): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(code, 0);
  h.writeUInt16BE(len & 0xffff, 2);
  return Buffer.concat([h, data]);
}

function header(type: number, r: Rng6): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUIntBE(r.next() & 0xffffff, 1, 3);
  return h;
}

/** Offsets of the top-level options' length fields. */
function optionOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 4; i + 4 <= b.length; i += 4 + b.readUInt16BE(i + 2)) out.push(i);
  return out;
}

/** A relay message (Relay-forward or -reply) around `inner`, `depth` times. */
function relay(r: Rng6, inner: Buffer, depth: number): Buffer {
  let msg = inner;
  for (let d = 0; d < depth; d++) {
    const h = Buffer.alloc(34);
    h[0] = r.int(5) === 0 ? DHCP6.RELAY_REPL : DHCP6.RELAY_FORW;
    h[1] = d; // hop count
    r.bytes(32).copy(h, 2); // link-address, peer-address
    const opts = [raw(OPT6.RELAY_MESSAGE, msg)];
    if (r.int(2) === 0) opts.unshift(raw(OPT6.INTERFACE_ID, r.bytes(1 + r.int(16))));
    msg = Buffer.concat([h, ...opts]);
  }
  return msg;
}

/** One packet of the given kind. */
export function fuzz6Packet(r: Rng6, kind: Fuzz6Kind, ctx: Fuzz6Context): Buffer {
  const base = (): Buffer => validMessage(r, ctx, r.pick(VALID_TYPES));
  switch (kind) {
    case 'random':
      return r.bytes(r.int(600));
    case 'truncated': {
      const b = base();
      return b.subarray(0, r.int(b.length));
    }
    case 'bad-option-length': {
      // One option's length field lies: past the end, short by a little, or zero.
      const b = base();
      const at = r.pick(optionOffsets(b));
      const len = b.readUInt16BE(at + 2);
      b.writeUInt16BE(r.pick([len + 1 + r.int(8), 0xffff, Math.max(0, len - 1 - r.int(4)), 0]), at + 2);
      return b;
    }
    case 'bit-flip': {
      const b = base();
      for (let i = 1 + r.int(8); i > 0; i--) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    }
    case 'option-soup': {
      // Random codes, known ones (1..32) most of the time, with random payloads.
      const opts: Buffer[] = [];
      for (let i = r.int(40); i > 0; i--) opts.push(raw(r.int(3) === 0 ? r.int(0x10000) : 1 + r.int(32), r.bytes(r.int(40))));
      return Buffer.concat([header(r.pick([...VALID_TYPES, ...OTHER_CLIENT_TYPES]), r), ...opts]);
    }
    case 'huge-option-count':
      return hugeOptionCount(r, ctx);
    case 'relay':
      return relay(r, r.int(4) === 0 ? r.bytes(r.int(100)) : base(), 1 + r.int(r.int(2) === 0 ? 3 : 40));
    case 'wrong-type': {
      // Types only servers send (Advertise, Reply, Reconfigure), reserved 0, unassigned ones.
      const b = base();
      b[0] = r.pick([0, DHCP6.ADVERTISE, DHCP6.REPLY, DHCP6.RECONFIGURE, 14 + r.int(242)]);
      return b;
    }
    case 'bad-duid': {
      // Client id with a DUID too short, too long, or of a known type with the wrong length.
      const duid = r.pick([r.bytes(r.int(3)), r.bytes(131 + r.int(100)), Buffer.from([0, 1, 0, 1, 1]), Buffer.from([0, 3, 0]), Buffer.from([0, 4, ...r.bytes(r.int(30))])]);
      return Buffer.concat([header(r.pick(VALID_TYPES), r), raw(OPT6.CLIENT_ID, duid), raw(OPT6.IA_NA, r.bytes(12))]);
    }
    case 'bad-nested': {
      // IA_NA whose nested options overrun it, or an IA Address / status of the wrong size.
      const ia = Buffer.concat([r.bytes(12), r.pick([
        raw(OPT6.IA_ADDRESS, r.bytes(r.int(24)), 24 + r.int(100)),
        raw(OPT6.IA_ADDRESS, r.bytes(r.int(24))),
        raw(OPT6.STATUS_CODE, r.bytes(1)),
        Buffer.from([0, 5, 0]),
      ])]);
      return Buffer.concat([header(r.pick(VALID_TYPES), r), option6Raw(clientId, clientDuid(r, r.int(ctx.clients))), raw(OPT6.IA_NA, ia)]);
    }
    case 'weird-valid':
      return weirdValid(r, ctx);
    case 'valid':
      return validMessage(r, ctx, r.pick([...VALID_TYPES, ...OTHER_CLIENT_TYPES]));
  }
}

function option6Raw(codec: typeof clientId, duid: Duid): Buffer {
  const o = option6(codec, duid);
  return raw(o.code, o.data);
}

/** Thousands of options: empty unknown ones, a giant option request, hundreds of IA Addresses. */
function hugeOptionCount(r: Rng6, ctx: Fuzz6Context): Buffer {
  const head = (type: number): Buffer[] => [header(type, r), option6Raw(clientId, clientDuid(r, r.int(ctx.clients)))];
  // The Renew with ~140 addresses costs the handler ~100 times a plain message: one case in eight.
  switch (r.int(8)) {
    case 0:
    case 5: // ~1000 empty options of unknown codes
      return Buffer.concat([...head(DHCP6.SOLICIT), ...Array.from({ length: 900 + r.int(100) }, () => raw(100 + r.int(60000), Buffer.alloc(0)))]);
    case 1:
    case 6: { // an option request naming ~1900 codes
      const codes = Buffer.alloc(2 * (1800 + r.int(100)));
      for (let i = 0; i < codes.length; i += 2) codes.writeUInt16BE(r.int(0x10000), i);
      return Buffer.concat([...head(DHCP6.INFORMATION_REQUEST), raw(OPT6.OPTION_REQUEST, codes)]);
    }
    case 2: { // a Renew whose one IA names ~140 addresses (each comes back with lifetime 0)
      const addrs = Array.from({ length: 130 + r.int(15) }, () => inPrefix(r, ctx));
      return Buffer.concat([...head(DHCP6.RENEW), option6Raw(serverId, ctx.serverDuid), raw(OPT6.IA_NA, iaOpt(r.next(), addrs).data)]);
    }
    case 3:
    case 7: // 500 elapsed-time options (repeats of a singleton)
      return Buffer.concat([...head(DHCP6.SOLICIT), ...Array.from({ length: 500 }, () => raw(OPT6.ELAPSED_TIME, r.bytes(2)))]);
    default: // bigger than any receive buffer: the tail is cut off on the way in
      return Buffer.concat([...head(DHCP6.SOLICIT), ...Array.from({ length: 1200 }, () => raw(OPT6.ELAPSED_TIME, r.bytes(2)))]);
  }
}

/** Well-formed but odd: what a sloppy or hostile client sends. */
function weirdValid(r: Rng6, ctx: Fuzz6Context): Buffer {
  const n = r.int(ctx.clients);
  const cid = option6(clientId, clientDuid(r, n));
  const sid = option6(serverId, ctx.serverDuid);
  const other = option6(serverId, { type: 'll', hardwareType: 1, linkLayerAddress: mac(60000 + r.int(100)) });
  const ia = iaOpt(n, [inPrefix(r, ctx)]);
  const msg = (type: number, options: Dhcp6Option[]): Buffer => encodeDhcp6({ msgType: type, transactionId: r.next() & 0xffffff, options });
  switch (r.int(12)) {
    case 0: return msg(DHCP6.REQUEST, [cid, other, ia]); // to another server
    case 1: return msg(DHCP6.REQUEST, [cid, ia]); // no server id
    case 2: return msg(DHCP6.SOLICIT, [cid, sid, ia]); // a server id in a Solicit
    case 3: return msg(DHCP6.SOLICIT, [ia]); // no client id
    case 4: return msg(DHCP6.RELEASE, [cid, sid, iaOpt(n, [inPrefix(r, ctx)])]); // release of someone's address
    case 5: return msg(DHCP6.DECLINE, [cid, sid, iaOpt(n, [`fd99::${hex4(r.next())}`])]); // decline of a foreign address
    case 6: return msg(DHCP6.CONFIRM, [cid, r.int(2) === 0 ? ia : iaOpt(n, [])]); // confirm, with and without addresses
    case 7: return msg(DHCP6.REBIND, [cid, iaOpt(n, [`2001:db8::${hex4(r.next())}`])]); // rebind of an address off link
    case 8: return msg(DHCP6.INFORMATION_REQUEST, [cid, ia]); // an IA where none belongs
    case 9: return msg(DHCP6.INFORMATION_REQUEST, [other]); // for another server
    case 10: return msg(DHCP6.SOLICIT, [cid, ...Array.from({ length: 1 + r.int(4) }, (_, i) => iaOpt(i, []))]); // several IAs
    default: return msg(DHCP6.RENEW, [cid, sid, iaOpt(r.next(), [])]); // renew of an IA with no addresses
  }
}
