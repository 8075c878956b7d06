// Router Advertisement (RFC 4861 4.2) and Router Solicitation (4.1) as ICMPv6 messages, without
// the IPv6 header. The checksum is left zero on encode: on a raw ICMPv6 socket the kernel
// computes it (RFC 3542 3.1) and verifies it on receive, so decoding does not check it.
import { NdOptionError, NdOptionsError, walkOptions } from './options/codec.js';
import { decodeOption, encodeOption, type RaOption } from './options/index.js';
import { sourceLinkLayer as sourceLinkLayerCodec } from './options/source-link-layer.js';
import { PREFERENCE_BITS, preferenceFromBits, type RoutePreference } from './options/route-information.js';

export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
const RA_HEADER = 16;
const RS_HEADER = 8;
const MANAGED = 0x80;
const OTHER = 0x40;

export interface RouterAdvertisement {
  /** Hop limit hosts should use; 0: unspecified (the host keeps its own). */
  curHopLimit: number;
  /** M: addresses are available from DHCPv6. */
  managed: boolean;
  /** O: other configuration (DNS, ...) is available from DHCPv6. */
  other: boolean;
  /** RFC 4191 2.2: preference of this router as a default router (only with lifetime > 0). */
  defaultRouterPreference: RoutePreference;
  /** 0: not a default router. At most 65535 (RFC 8319 raised 4861's 9000). */
  routerLifetimeSec: number;
  /** 0: unspecified. */
  reachableTimeMs: number;
  /** 0: unspecified. */
  retransTimerMs: number;
  options: RaOption[];
}

export class NdMessageError extends Error {
  override readonly name = 'NdMessageError';
}

function checkInt(what: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new NdMessageError(`encode router advertisement: ${what} ${v} is not an integer from 0 to ${max}`);
  return v;
}

export function encodeRouterAdvertisement(ra: RouterAdvertisement): Buffer {
  const head = Buffer.alloc(RA_HEADER);
  head[0] = ICMPV6_ROUTER_ADVERTISEMENT;
  // code 0, checksum 0 (the kernel fills it in)
  head[4] = checkInt('cur hop limit', ra.curHopLimit, 255);
  const prf = PREFERENCE_BITS[ra.defaultRouterPreference];
  if (prf === undefined) throw new NdMessageError(`encode router advertisement: default router preference ${JSON.stringify(ra.defaultRouterPreference)} is not high, medium or low`);
  head[5] = (ra.managed ? MANAGED : 0) | (ra.other ? OTHER : 0) | (prf << 3);
  head.writeUInt16BE(checkInt('router lifetime', ra.routerLifetimeSec, 0xffff), 6);
  head.writeUInt32BE(checkInt('reachable time', ra.reachableTimeMs, 0xffffffff), 8);
  head.writeUInt32BE(checkInt('retrans timer', ra.retransTimerMs, 0xffffffff), 12);
  return Buffer.concat([head, ...ra.options.map(encodeOption)]);
}

/** Decodes a whole RA (tests and tools: a router never receives its own). Strict: any bad option throws. */
export function decodeRouterAdvertisement(b: Buffer): RouterAdvertisement {
  if (b.length < RA_HEADER) throw new NdMessageError(`decode router advertisement: ${b.length} bytes, the header alone is ${RA_HEADER}`);
  if (b[0] !== ICMPV6_ROUTER_ADVERTISEMENT) throw new NdMessageError(`decode router advertisement: ICMPv6 type ${b[0]}, expected ${ICMPV6_ROUTER_ADVERTISEMENT}`);
  if (b[1] !== 0) throw new NdMessageError(`decode router advertisement: code ${b[1]}, expected 0`);
  const options = walkOptions(b, RA_HEADER).map(decodeOption);
  return {
    curHopLimit: b[4]!,
    managed: (b[5]! & MANAGED) !== 0,
    other: (b[5]! & OTHER) !== 0,
    // RFC 4191 2.2: the reserved value 10 is treated as medium.
    defaultRouterPreference: preferenceFromBits((b[5]! >> 3) & 3) ?? 'medium',
    routerLifetimeSec: b.readUInt16BE(6),
    reachableTimeMs: b.readUInt32BE(8),
    retransTimerMs: b.readUInt32BE(12),
    options,
  };
}

export interface RouterSolicitation {
  /** The soliciting host's MAC, when it sent one. */
  sourceLinkLayer: string | null;
}

/** Why a solicitation is invalid (RFC 4861 6.1.1), or the solicitation. */
export type RsResult = { ok: true; rs: RouterSolicitation } | { ok: false; reason: string };

/**
 * Validates and decodes a Router Solicitation per RFC 4861 6.1.1, except the checks the socket
 * makes (IP hop limit 255; ICMP checksum, verified by the kernel). `sourceUnspecified`: the IP
 * source was ::, in which case a source link-layer address option is not allowed.
 */
export function decodeRouterSolicitation(b: Buffer, sourceUnspecified: boolean): RsResult {
  if (b.length < RS_HEADER) return { ok: false, reason: `${b.length} bytes, less than ${RS_HEADER}` };
  if (b[0] !== ICMPV6_ROUTER_SOLICITATION) return { ok: false, reason: `ICMPv6 type ${b[0]}, not ${ICMPV6_ROUTER_SOLICITATION}` };
  if (b[1] !== 0) return { ok: false, reason: `ICMP code ${b[1]}, not 0` };
  let sourceLinkLayer: string | null = null;
  try {
    for (const raw of walkOptions(b, RS_HEADER)) {
      if (raw.type !== 1) continue;
      if (sourceUnspecified) return { ok: false, reason: 'source link-layer address option from the unspecified address' };
      // Other link layers send other lengths: keep the RS valid, just without a MAC.
      if (raw.bytes.length === 8) sourceLinkLayer = sourceLinkLayerCodec.decode(raw.bytes);
    }
  } catch (err) {
    if (err instanceof NdOptionsError || err instanceof NdOptionError) return { ok: false, reason: err.message };
    throw err;
  }
  return { ok: true, rs: { sourceLinkLayer } };
}
