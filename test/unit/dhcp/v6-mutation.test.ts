// Totality of the DHCPv6 decoder: 10,000 seeded random mutations of scapy's golden messages
// (bit flips, byte writes, cuts, insertions, length fields nudged, options resized with the
// framing around them kept consistent, splices of two messages).
// Each one either decodes, and then encodes back to exactly its bytes with every known
// option's value surviving its codec both ways, or throws a Dhcp6DecodeError with a known
// reason; never anything else, never 'internal'. Replay a failure with HOSTNET_FUZZ_SEED (and
// run longer with HOSTNET_FUZZ_MUTATIONS).
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { option6Codec } from '../../../dhcp/v6/options/index.js';
import { Dhcp6DecodeError, decodeDhcp6, encodeDhcp6, type Dhcp6DecodeReason } from '../../../dhcp/v6/packet.js';
import { Rng } from '../../lib/dhcp-fuzz.js';
import { GOLDEN, golden, type GoldenName } from './v6-golden.js';

const MUTATIONS = Number(process.env['HOSTNET_FUZZ_MUTATIONS'] ?? 10_000);
const SEED = Number(process.env['HOSTNET_FUZZ_SEED'] ?? 20260610);

const REASONS: readonly Dhcp6DecodeReason[] = [
  'truncated', 'bad-msg-type', 'relay-not-supported', 'option-overrun', 'bad-length', 'nested-overrun', 'bad-duid', 'bad-name',
];

const SEEDS = (Object.keys(GOLDEN) as GoldenName[]).map(golden);

interface LengthField {
  /** Offset of the 16-bit length. */
  at: number;
  /** Length fields of the options around this one (IA_NA around IA Address, ...). */
  parents: number[];
}

/** The length fields of the message: top level, and nested inside IA_NA / IA Address. */
function lengthFields(b: Buffer): LengthField[] {
  const out: LengthField[] = [];
  const walk = (start: number, end: number, parents: number[]): void => {
    for (let i = start; i + 4 <= end; ) {
      const code = b.readUInt16BE(i);
      const len = b.readUInt16BE(i + 2);
      out.push({ at: i + 2, parents });
      const next = i + 4 + len;
      if (next > end) return;
      if (parents.length < 2 && code === 3 && len >= 12) walk(i + 4 + 12, next, [...parents, i + 2]);
      if (parents.length < 2 && code === 5 && len >= 24) walk(i + 4 + 24, next, [...parents, i + 2]);
      i = next;
    }
  };
  walk(4, b.length, []);
  return out;
}

/** Resizes one option's payload (cut or random bytes added) and fixes every enclosing length. */
function resize(r: Rng, b: Buffer, f: LengthField): Buffer {
  const old = b.readUInt16BE(f.at);
  const len = Math.max(0, old + r.int(25) - 12);
  const payload = f.at + 2;
  if (payload + old > b.length) return b;
  const grown = len > old ? r.bytes(len - old) : Buffer.alloc(0);
  const out = Buffer.concat([b.subarray(0, payload + Math.min(old, len)), grown, b.subarray(payload + old)]);
  const delta = len - old;
  for (const at of [f.at, ...f.parents]) {
    const v = (at === f.at ? old : out.readUInt16BE(at)) + delta;
    if (v >= 0 && v <= 0xffff) out.writeUInt16BE(v, at);
  }
  return out;
}

/** Mutation kinds, weighted towards those that keep the framing, so option decoders get reached. */
const OPS = [0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 9, 9] as const;

function mutate(r: Rng, input: Buffer): Buffer {
  let b: Buffer = Buffer.from(input);
  const rounds = 1 + r.int(3);
  for (let k = 0; k < rounds; k++) {
    const at = b.length === 0 ? 0 : r.int(b.length);
    switch (r.pick(OPS)) {
      case 0: // flip one bit
        if (b.length > 0) b[at] = b[at]! ^ (1 << r.int(8));
        break;
      case 1: // write one byte
        if (b.length > 0) b[at] = r.int(256);
        break;
      case 2: // cut
        b = b.subarray(0, r.int(b.length + 1));
        break;
      case 3: // append
        b = Buffer.concat([b, r.bytes(1 + r.int(40))]);
        break;
      case 4: // insert
        b = Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(8)), b.subarray(at)]);
        break;
      case 5: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(8))]);
        break;
      case 6: { // nudge a length field, top level or nested
        const fields = lengthFields(b);
        if (fields.length === 0) break;
        const f = r.pick(fields);
        const v = b.readUInt16BE(f.at);
        const nudged = r.int(4) === 0 ? r.int(0x10000) : Math.max(0, Math.min(0xffff, v + r.int(9) - 4));
        b = Buffer.from(b);
        b.writeUInt16BE(nudged, f.at);
        break;
      }
      case 9: { // resize an option, keeping the framing around it consistent
        const fields = lengthFields(b);
        if (fields.length > 0) b = resize(r, b, r.pick(fields));
        break;
      }
      case 7: { // splice: this message's head, another's tail
        const other = r.pick(SEEDS);
        b = Buffer.concat([b.subarray(0, at), other.subarray(r.int(other.length + 1))]);
        break;
      }
      case 8: // msg-type
        if (b.length > 0) {
          b = Buffer.from(b);
          b[0] = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 255]);
        }
    }
  }
  return b;
}

/** What is wrong with the outcome for `b`, or null when it is as it must be. */
function check(b: Buffer, tally: Map<string, number>): string | null {
  let msg;
  try {
    msg = decodeDhcp6(b);
  } catch (e) {
    if (!(e instanceof Dhcp6DecodeError)) return `threw ${String(e)}, not a Dhcp6DecodeError`;
    if (!REASONS.includes(e.reason)) return `reason ${e.reason}: ${e.message}`;
    if (!e.message.startsWith(`decode DHCPv6 message: ${e.reason}: `)) return `message ${JSON.stringify(e.message)}`;
    tally.set(e.reason, (tally.get(e.reason) ?? 0) + 1);
    return null;
  }
  tally.set('decoded', (tally.get('decoded') ?? 0) + 1);
  const again = encodeDhcp6(msg);
  if (!again.equals(b)) return `re-encoded as ${again.toString('hex')}`;
  for (const o of msg.options) {
    const codec = option6Codec(o.code);
    if (!codec) continue;
    const value = codec.decode(o.data);
    const back = codec.decode(codec.encode(value));
    if (!isDeepStrictEqual(back, value)) return `option ${o.code}: ${JSON.stringify(value)} came back as ${JSON.stringify(back)}`;
  }
  return null;
}

describe('DHCPv6 decoder under mutation', () => {
  it('the golden messages themselves decode (the relay one is refused as not supported)', () => {
    for (const name of Object.keys(GOLDEN) as GoldenName[]) {
      const tally = new Map<string, number>();
      expect(check(golden(name), tally), name).toBeNull();
      expect([...tally.keys()], name).toEqual([name === 'relay-forward' ? 'relay-not-supported' : 'decoded']);
    }
  });

  it(`${MUTATIONS} seeded mutations (seed ${SEED}): a message or a Dhcp6DecodeError, nothing else`, () => {
    const r = new Rng(SEED);
    const tally = new Map<string, number>();
    const failures: string[] = [];
    for (let i = 0; i < MUTATIONS; i++) {
      const b = mutate(r, r.pick(SEEDS));
      let problem: string | null;
      try {
        problem = check(b, tally);
      } catch (e) {
        problem = `check threw ${String(e)}`;
      }
      if (problem && failures.length < 10) failures.push(`#${i} ${b.toString('hex')}: ${problem}`);
    }
    expect(failures).toEqual([]);
    console.log(JSON.stringify({ seed: SEED, outcomes: Object.fromEntries(tally) }));
    // The mutations reach every kind of refusal, and many still decode.
    for (const reason of REASONS) expect(tally.get(reason) ?? 0, `${reason} in ${JSON.stringify(Object.fromEntries(tally))}`).toBeGreaterThan(0);
    expect(tally.get('decoded') ?? 0).toBeGreaterThan(MUTATIONS / 10);
  });
});
