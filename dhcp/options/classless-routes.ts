// Option 121 (RFC 3442) and its pre-standard twin 249 (Microsoft): classless static routes.
// Each route is: prefix length, the significant octets of the destination (ceil(len/8)),
// then the 4-byte router. Clients that get 121 ignore option 3, so the caller adds the
// default route (0.0.0.0/0) itself when a gateway exists.
import { intToIp, parseCidr, tryIpToInt } from '../../dataplane/ip4.js';
import { OptionError, type OptionCodec } from './codec.js';

export interface ClasslessRoute {
  /** "a.b.c.d/len" with host bits clear, e.g. "10.0.0.0/8", "0.0.0.0/0". */
  destination: string;
  /** The router, a dotted quad ("0.0.0.0" means on-link, per RFC 3442). */
  via: string;
}

function routesCodec(code: number, name: string): OptionCodec<ClasslessRoute[]> {
  const fail = (op: 'encode' | 'decode', detail: string): never => {
    throw new OptionError(code, name, op, detail);
  };
  return {
    code,
    name,
    encode(routes) {
      if (routes.length === 0) fail('encode', 'no routes');
      const out: number[] = [];
      for (const r of routes) {
        let cidr;
        try {
          cidr = parseCidr(r.destination);
        } catch (e) {
          return fail('encode', (e as Error).message);
        }
        const via = tryIpToInt(r.via);
        if (via === undefined) fail('encode', `router ${JSON.stringify(r.via)} of ${r.destination} is not an IPv4 address`);
        out.push(cidr.prefix);
        for (let i = 0; i < Math.ceil(cidr.prefix / 8); i++) out.push((cidr.network >>> (24 - 8 * i)) & 255);
        out.push((via! >>> 24) & 255, (via! >>> 16) & 255, (via! >>> 8) & 255, via! & 255);
      }
      return Buffer.from(out);
    },
    decode(p) {
      if (p.length === 0) fail('decode', 'no routes');
      const routes: ClasslessRoute[] = [];
      let pos = 0;
      while (pos < p.length) {
        const prefix = p[pos]!;
        if (prefix > 32) fail('decode', `prefix length ${prefix} at offset ${pos} is over 32`);
        const width = Math.ceil(prefix / 8);
        if (pos + 1 + width + 4 > p.length) fail('decode', `route at offset ${pos} runs past the end`);
        let dest = 0;
        for (let i = 0; i < 4; i++) dest = dest * 256 + (i < width ? p[pos + 1 + i]! : 0);
        // Bits beyond the prefix inside the last significant octet are meaningless: clear them.
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        routes.push({ destination: `${intToIp((dest & mask) >>> 0)}/${prefix}`, via: intToIp(p.readUInt32BE(pos + 1 + width)) });
        pos += 1 + width + 4;
      }
      return routes;
    },
  };
}

export const classlessRoutes = routesCodec(121, 'classless-routes');
export const msClasslessRoutes = routesCodec(249, 'ms-classless-routes');
