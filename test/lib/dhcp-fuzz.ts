// Random and mutated DHCP packets for the fuzz test, from a seeded generator so a failure can
// be replayed. Packets are built by hand, not with the codec under test.

import { Rng } from '../../dhcp/testing/rng.js';

export { Rng };

export type FuzzKind =
  | 'random' | 'truncated' | 'bad-op' | 'bad-htype' | 'bad-hlen' | 'bad-cookie' | 'option-past-end'
  | 'option-soup' | 'bit-flip' | 'weird-valid' | 'no-end' | 'overload-garbage';

export const FUZZ_KINDS: readonly FuzzKind[] = [
  'random', 'truncated', 'bad-op', 'bad-htype', 'bad-hlen', 'bad-cookie', 'option-past-end',
  'option-soup', 'bit-flip', 'weird-valid', 'no-end', 'overload-garbage',
];

function opt(code: number, data: Buffer | number[]): Buffer {
  const d = Buffer.from(data);
  return Buffer.concat([Buffer.from([code, d.length]), d]);
}

/** A well-formed BOOTREQUEST with the given options (END appended). */
export function request(r: Rng, type: number, options: Buffer[] = [], fill: Partial<{ ciaddr: number[]; macPool: number }> = {}): Buffer {
  const h = Buffer.alloc(240);
  h[0] = 1;
  h[1] = 1;
  h[2] = 6;
  h.writeUInt32BE(r.next(), 4);
  if (fill.ciaddr) Buffer.from(fill.ciaddr).copy(h, 12);
  const mac = fill.macPool ? [0x02, 0xfa, 0, 0, (r.int(fill.macPool) >> 8) & 0xff, r.int(fill.macPool) & 0xff] : [0x02, ...r.bytes(5)];
  Buffer.from(mac).copy(h, 28);
  h.writeUInt32BE(0x63825363, 236);
  return Buffer.concat([h, opt(53, [type]), ...options, Buffer.from([255])]);
}

/** One packet of the given kind; `subnet` is the served /16's first two octets. */
export function fuzzPacket(r: Rng, kind: FuzzKind, subnet: [number, number]): Buffer {
  const inNet = (): number[] => [subnet[0], subnet[1], r.int(256), r.int(256)];
  const base = (): Buffer => request(r, r.pick([1, 3, 4, 7, 8]), [opt(55, [1, 3, 6, 15, 26, 119, 121]), opt(50, inNet())], { macPool: 4096 });
  switch (kind) {
    case 'random':
      return r.bytes(r.int(700));
    case 'truncated': {
      const b = base();
      return b.subarray(0, r.int(b.length));
    }
    case 'bad-op': {
      const b = base();
      b[0] = r.pick([0, 2, 3, 255]);
      return b;
    }
    case 'bad-htype': {
      const b = base();
      b[1] = r.pick([0, 6, 32, 255]);
      return b;
    }
    case 'bad-hlen': {
      const b = base();
      b[2] = r.pick([0, 1, 16, 17, 255]);
      return b;
    }
    case 'bad-cookie': {
      const b = base();
      b.writeUInt32BE(r.next(), 236);
      return b;
    }
    case 'option-past-end': {
      const b = base();
      // An option whose length runs past the datagram.
      return Buffer.concat([b.subarray(0, b.length - 1), Buffer.from([r.pick([12, 55, 61, 81, 121, 250]), 200 + r.int(56)]), r.bytes(r.int(50))]);
    }
    case 'option-soup': {
      const opts: Buffer[] = [];
      for (let i = r.int(40); i > 0; i--) opts.push(opt(r.int(256), r.bytes(r.int(40))));
      return request(r, r.int(12), opts);
    }
    case 'bit-flip': {
      const b = base();
      for (let i = 1 + r.int(8); i > 0; i--) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    }
    case 'no-end': {
      const b = base();
      return b.subarray(0, b.length - 1);
    }
    case 'overload-garbage': {
      const b = base();
      // Option 52 says sname/file carry options, and they hold random bytes.
      r.bytes(192).copy(b, 44);
      return Buffer.concat([b.subarray(0, b.length - 1), opt(52, [1 + r.int(3)]), Buffer.from([255])]);
    }
    case 'weird-valid':
      return weirdValid(r, inNet);
  }
}

/** Well-formed but odd: things a sloppy or hostile client sends. */
function weirdValid(r: Rng, inNet: () => number[]): Buffer {
  switch (r.int(10)) {
    case 0: return request(r, 1, [opt(57, [0, r.int(2)])], { macPool: 4096 }); // max size 0/1: below the minimum
    case 1: return request(r, 3, [opt(50, [r.int(256), r.int(256), r.int(256), r.int(256)]), opt(54, r.bytes(4))], { macPool: 4096 }); // not ours
    case 2: return request(r, 3, [opt(50, inNet())], { macPool: 4096 }); // init-reboot for someone else's address
    case 3: return request(r, 7, [opt(54, r.bytes(4))], { ciaddr: inNet(), macPool: 4096 }); // release of a random lease
    case 4: return request(r, 8, [], { ciaddr: inNet() }); // inform from anywhere
    case 5: return request(r, 1, [opt(61, r.bytes(r.int(255))), opt(12, r.bytes(r.int(64)))], { macPool: 4096 }); // odd client id / hostname
    case 6: return request(r, 1, [opt(55, r.bytes(255))], { macPool: 4096 }); // huge parameter list
    case 7: return request(r, 1, Array.from({ length: 20 }, () => opt(121, r.bytes(r.int(30)))), { macPool: 4096 }); // repeated options
    case 8: return request(r, 1, [Buffer.alloc(r.int(200))], { macPool: 4096 }); // padding
    default: return request(r, 4, [opt(50, [10, 255, 255, 255]), opt(54, r.bytes(4))], { macPool: 4096 }); // decline of a foreign address
  }
}
