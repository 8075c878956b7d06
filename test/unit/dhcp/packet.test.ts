// The wire codec: round trips, option overload both ways, RFC 3396 splitting, and totality of
// decoding (only DhcpDecodeError escapes, whatever the input).
import { describe, expect, it } from 'vitest';
import { DHCP, DhcpDecodeError, decodeDhcp, encodeDhcp, type DhcpMessage } from '../../../dhcp/packet.js';
import { ip, request } from './build.js';

function reasonOf(buf: Buffer): string {
  try {
    decodeDhcp(buf);
  } catch (e) {
    expect(e).toBeInstanceOf(DhcpDecodeError);
    return (e as DhcpDecodeError).reason;
  }
  return 'decoded';
}

/** A valid DISCOVER as bytes, with extra raw option bytes before END. */
function rawDiscover(extra: number[] = [], end = true): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1; b[1] = 1; b[2] = 6;
  b.writeUInt32BE(0xdeadbeef, 4);
  Buffer.from('525400123456', 'hex').copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  return Buffer.concat([b, Buffer.from([53, 1, 1, ...extra, ...(end ? [255] : [])])]);
}

describe('DHCP packet codec', () => {
  it('round-trips every header field and options', () => {
    const msg: DhcpMessage = {
      ...request(DHCP.REQUEST, { opts: [[50, ip('10.0.0.9')], [12, Buffer.from('host')]] }),
      hops: 1, secs: 7, flags: 0x8000, ciaddr: '10.0.0.1', yiaddr: '10.0.0.2', siaddr: '10.0.0.3', giaddr: '10.0.0.4',
      sname: 'srv', file: 'boot.img', chaddr: 'aa:bb:cc:dd:ee:0f',
    };
    const buf = encodeDhcp(msg);
    expect(buf.length).toBe(300);
    expect(decodeDhcp(buf)).toEqual(msg);
  });

  it('writes 53 first and END last, after the options in map order', () => {
    const msg = request(DHCP.OFFER, { op: 2 });
    msg.options = new Map([[54, ip('10.0.0.1')], [53, Buffer.from([2])], [1, ip('255.255.255.0')]]);
    const buf = encodeDhcp(msg);
    expect([...buf.subarray(240, 240 + 3 + 6 + 6 + 1)]).toEqual([53, 1, 2, 54, 4, 10, 0, 0, 1, 1, 4, 255, 255, 255, 0, 255]);
  });

  it('splits options over 255 bytes and joins them back (RFC 3396)', () => {
    const long = Buffer.alloc(600, 7);
    const msg = request(DHCP.ACK, { op: 2, opts: [[119, long]] });
    const buf = encodeDhcp(msg, 1500);
    expect(decodeDhcp(buf).options.get(119)).toEqual(long);
    // Three instances: 255 + 255 + 90.
    expect(buf[243]).toBe(119);
    expect(buf[244]).toBe(255);
  });

  it('reads option overload: options in file then sname, joined in RFC 3396 order', () => {
    const b = rawDiscover([52, 1, 3, 121, 2, 0xaa, 0xbb]);
    // file: more of option 121, then a hostname; sname: the rest of 121.
    Buffer.from([121, 1, 0xcc, 12, 2, 0x68, 0x69, 255]).copy(b, 108);
    Buffer.from([121, 1, 0xdd, 255]).copy(b, 44);
    const m = decodeDhcp(b);
    expect(m.options.get(121)).toEqual(Buffer.from([0xaa, 0xbb, 0xcc, 0xdd]));
    expect(m.options.get(12)?.toString()).toBe('hi');
    expect(m.options.has(52)).toBe(false);
    expect(m.sname).toBe('');
    expect(m.file).toBe('');
  });

  it('writes option overload when options exceed the size limit, and reads its own output', () => {
    const msg = request(DHCP.ACK, { op: 2 });
    const opts: [number, Buffer][] = [[54, ip('10.0.0.1')], [51, Buffer.alloc(4, 1)]];
    for (let c = 200; c < 215; c++) opts.push([c, Buffer.alloc(20, c)]); // 15 x 22 = 330 bytes > 308
    for (const [c, v] of opts) msg.options.set(c, v);
    const buf = encodeDhcp(msg, 548);
    expect(buf.length).toBeLessThanOrEqual(548);
    expect(buf.subarray(240, 246)).toEqual(Buffer.from([53, 1, 5, 52, 1, buf[245]!]));
    expect([1, 2, 3]).toContain(buf[245]);
    const back = decodeDhcp(buf);
    for (const [c, v] of opts) expect(back.options.get(c), `option ${c}`).toEqual(v);
  });

  it('never exceeds maxSize: an option that fits nowhere is left out, 53 stays', () => {
    const msg = request(DHCP.ACK, { op: 2, sname: 'taken', file: 'taken' });
    for (let c = 200; c < 240; c++) msg.options.set(c, Buffer.alloc(30, c));
    const buf = encodeDhcp(msg, 548);
    expect(buf.length).toBeLessThanOrEqual(548);
    const back = decodeDhcp(buf);
    expect(back.options.get(53)).toEqual(Buffer.from([5]));
    expect(back.sname).toBe('taken');
    expect(back.options.size).toBeLessThan(41);
  });

  it('uses a larger maxSize without overloading', () => {
    const msg = request(DHCP.ACK, { op: 2 });
    for (let c = 200; c < 230; c++) msg.options.set(c, Buffer.alloc(30, c));
    const buf = encodeDhcp(msg, 1500);
    expect(buf.length).toBe(240 + 3 + 30 * 32 + 1);
    expect(decodeDhcp(buf).options.size).toBe(31);
    expect(buf.indexOf(Buffer.from([52, 1]), 240)).toBe(-1);
  });

  it.each([
    ['truncated', Buffer.alloc(100)],
    ['truncated', Buffer.alloc(0)],
    ['truncated', rawDiscover().subarray(0, 239)],
    ['bad-op', Object.assign(rawDiscover(), { 0: 3 })],
    ['bad-htype', Object.assign(rawDiscover(), { 1: 6 })],
    ['bad-hlen', Object.assign(rawDiscover(), { 2: 16 })],
    ['bad-cookie', Object.assign(rawDiscover(), { 239: 0x64 })],
    ['option-overrun', rawDiscover([12, 10, 0x61], false)],
    ['option-overrun', rawDiscover([12], false)],
    ['no-message-type', Buffer.concat([rawDiscover().subarray(0, 240), Buffer.from([255])])],
    ['bad-message-type', Buffer.concat([rawDiscover().subarray(0, 240), Buffer.from([53, 0, 255])])],
    ['bad-overload', rawDiscover([52, 1, 7])],
  ])('throws DhcpDecodeError %s', (reason, buf) => {
    expect(reasonOf(buf)).toBe(reason);
  });

  it('tolerates a missing END and padding', () => {
    expect(decodeDhcp(rawDiscover([0, 0, 12, 1, 0x61], false)).options.get(12)?.toString()).toBe('a');
  });

  it('decodes nothing but DhcpDecodeError from 10,000 random and mutated inputs', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const good = encodeDhcp(request(DHCP.DISCOVER, { opts: [[55, [1, 3, 6, 121]], [61, [1, 2, 3, 4, 5, 6, 7]]] }));
    let decoded = 0;
    for (let i = 0; i < 10_000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) {
        buf = Buffer.alloc(rand(700));
        for (let j = 0; j < buf.length; j++) buf[j] = rand(256);
        if (i % 4 === 0 && buf.length >= 240) good.copy(buf, 0, 0, 240); // valid header, random options
      } else {
        buf = Buffer.from(good.subarray(0, rand(good.length + 1)));
        for (let k = rand(8); k > 0 && buf.length > 0; k--) buf[rand(buf.length)] = rand(256);
      }
      try {
        decodeDhcp(buf);
        decoded++;
      } catch (e) {
        if (!(e instanceof DhcpDecodeError)) throw new Error(`input ${buf.toString('hex')} threw ${String(e)}`);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});
