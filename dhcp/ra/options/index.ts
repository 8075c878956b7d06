// The Router Advertisement's options as one tagged union, and the dispatch from a union value
// to its codec and back. Options we do not know decode as 'unknown' (RFC 4861 4.6: receivers
// skip options they do not recognise).
import { type NdOptionCodec, type RawNdOption } from './codec.js';
import { dnssl, type Dnssl } from './dnssl.js';
import { mtuOption } from './mtu.js';
import { prefixInformation, type PrefixInformation } from './prefix-information.js';
import { rdnss, type Rdnss } from './rdnss.js';
import { routeInformation, type RouteInformation } from './route-information.js';
import { sourceLinkLayer } from './source-link-layer.js';

export type RaOption =
  | { kind: 'source-link-layer'; mac: string }
  | ({ kind: 'prefix' } & PrefixInformation)
  | { kind: 'mtu'; mtu: number }
  | ({ kind: 'route' } & RouteInformation)
  | ({ kind: 'rdnss' } & Rdnss)
  | ({ kind: 'dnssl' } & Dnssl)
  | { kind: 'unknown'; type: number; bytes: Buffer };

export function encodeOption(o: RaOption): Buffer {
  switch (o.kind) {
    case 'source-link-layer': return sourceLinkLayer.encode(o.mac);
    case 'prefix': return prefixInformation.encode(o);
    case 'mtu': return mtuOption.encode(o.mtu);
    case 'route': return routeInformation.encode(o);
    case 'rdnss': return rdnss.encode(o);
    case 'dnssl': return dnssl.encode(o);
    case 'unknown': return Buffer.from(o.bytes);
  }
}

const byType = new Map<number, NdOptionCodec<unknown>>(
  [sourceLinkLayer, prefixInformation, mtuOption, routeInformation, rdnss, dnssl].map((c) => [c.type, c as NdOptionCodec<unknown>]),
);

/** Decodes one option found by walkOptions; throws NdOptionError when it is malformed. */
export function decodeOption(raw: RawNdOption): RaOption {
  const codec = byType.get(raw.type);
  if (!codec) return { kind: 'unknown', type: raw.type, bytes: Buffer.from(raw.bytes) };
  const v = codec.decode(raw.bytes);
  switch (raw.type) {
    case sourceLinkLayer.type: return { kind: 'source-link-layer', mac: v as string };
    case prefixInformation.type: return { kind: 'prefix', ...(v as PrefixInformation) };
    case mtuOption.type: return { kind: 'mtu', mtu: v as number };
    case routeInformation.type: return { kind: 'route', ...(v as RouteInformation) };
    case rdnss.type: return { kind: 'rdnss', ...(v as Rdnss) };
    default: return { kind: 'dnssl', ...(v as Dnssl) };
  }
}

export { sourceLinkLayer, prefixInformation, mtuOption, routeInformation, rdnss, dnssl };
export type { PrefixInformation, RouteInformation, Rdnss, Dnssl };
export type { RoutePreference } from './route-information.js';
