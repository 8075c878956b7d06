// The DHCPv4 wire format (RFC 2131 2, RFC 2132, RFC 3396): a fixed BOOTP header, the magic
// cookie, then options. Decoding is total: any input either yields a DhcpMessage or throws a
// DhcpDecodeError whose `reason` is a stable counter label. Encoding places options in a
// deliberate order and overloads sname/file (option 52) only when the options field is full.
import { tryIpToInt } from '../dataplane/ip4.js';

export interface DhcpMessage {
  op: 1 | 2;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  /** Bit 15 (0x8000) = broadcast. */
  flags: number;
  /** Dotted quads, '0.0.0.0' when unset. */
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Lower-case "aa:bb:cc:dd:ee:ff" (the first hlen bytes). */
  chaddr: string;
  sname: string;
  file: string;
  /** Raw payloads, after option-overload merging and concatenation of split options (RFC 3396). */
  options: Map<number, Buffer>;
}

export const DHCP = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
export type DhcpMessageType = (typeof DHCP)[keyof typeof DHCP];

export const BROADCAST_FLAG = 0x8000;

const MAGIC_COOKIE = 0x63825363;
const HEADER = 236;
const OPTIONS_START = HEADER + 4;
const SNAME_OFFSET = 44;
const SNAME_LEN = 64;
const FILE_OFFSET = 108;
const FILE_LEN = 128;
/** BOOTP (RFC 951) replies are at least 300 bytes; some relays and old clients insist. */
const MIN_PACKET = 300;
/** The 576-byte datagram every client accepts, less IP (20) and UDP (8) headers (RFC 2131 2). */
export const MIN_MAX_DHCP_SIZE = 548;

const OPT_PAD = 0;
const OPT_OVERLOAD = 52;
const OPT_MESSAGE_TYPE = 53;
const OPT_END = 255;

export class DhcpDecodeError extends Error {
  override readonly name = 'DhcpDecodeError';
  /** Short stable key, e.g. 'truncated', 'bad-cookie': used as a counter label. */
  readonly reason: string;
  constructor(reason: string, detail: string) {
    super(`decode DHCP message: ${reason}: ${detail}`);
    this.reason = reason;
  }
}

export function decodeDhcp(buf: Buffer): DhcpMessage {
  try {
    return decodeUnchecked(buf);
  } catch (err) {
    if (err instanceof DhcpDecodeError) throw err;
    // A bug in the decoder must still surface as a drop with a label, not as a crash.
    throw new DhcpDecodeError('internal', String(err));
  }
}

function decodeUnchecked(buf: Buffer): DhcpMessage {
  if (!Buffer.isBuffer(buf)) throw new DhcpDecodeError('truncated', 'input is not a Buffer');
  if (buf.length < OPTIONS_START) throw new DhcpDecodeError('truncated', `${buf.length} bytes, a DHCP message has at least ${OPTIONS_START}`);
  const op = buf[0]!;
  if (op !== 1 && op !== 2) throw new DhcpDecodeError('bad-op', `op ${op} is neither BOOTREQUEST (1) nor BOOTREPLY (2)`);
  const htype = buf[1]!;
  if (htype !== 1) throw new DhcpDecodeError('bad-htype', `htype ${htype} is not Ethernet (1)`);
  const hlen = buf[2]!;
  if (hlen !== 6) throw new DhcpDecodeError('bad-hlen', `hlen ${hlen} is not 6 for Ethernet`);
  const cookie = buf.readUInt32BE(HEADER);
  if (cookie !== MAGIC_COOKIE) throw new DhcpDecodeError('bad-cookie', `magic cookie 0x${cookie.toString(16).padStart(8, '0')} is not 0x63825363`);

  // Pieces of each option in the order RFC 3396 joins them: options field, then file, then sname.
  const pieces = new Map<number, Buffer[]>();
  parseArea(buf, OPTIONS_START, buf.length, 'options', pieces);
  let overload = 0;
  const ov = pieces.get(OPT_OVERLOAD);
  if (ov) {
    const v = ov[0];
    if (ov.length !== 1 || v === undefined || v.length !== 1 || v[0]! < 1 || v[0]! > 3) {
      throw new DhcpDecodeError('bad-overload', 'option 52 is not one byte 1..3');
    }
    overload = v[0]!;
    pieces.delete(OPT_OVERLOAD);
    if (overload & 1) parseArea(buf, FILE_OFFSET, FILE_OFFSET + FILE_LEN, 'file', pieces);
    if (overload & 2) parseArea(buf, SNAME_OFFSET, SNAME_OFFSET + SNAME_LEN, 'sname', pieces);
    if (pieces.has(OPT_OVERLOAD)) throw new DhcpDecodeError('bad-overload', 'option 52 inside an overloaded field');
  }
  const options = new Map<number, Buffer>();
  for (const [code, parts] of pieces) options.set(code, parts.length === 1 ? parts[0]! : Buffer.concat(parts));

  const mt = options.get(OPT_MESSAGE_TYPE);
  if (mt === undefined) throw new DhcpDecodeError('no-message-type', 'option 53 is missing (BOOTP is not served)');
  if (mt.length !== 1 || mt[0] === 0) throw new DhcpDecodeError('bad-message-type', `option 53 payload ${mt.toString('hex') || '(empty)'}`);

  return {
    op,
    htype,
    hlen,
    hops: buf[3]!,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: ipAt(buf, 12),
    yiaddr: ipAt(buf, 16),
    siaddr: ipAt(buf, 20),
    giaddr: ipAt(buf, 24),
    chaddr: buf.subarray(28, 28 + hlen).toString('hex').replace(/(..)(?!$)/g, '$1:'),
    sname: overload & 2 ? '' : cString(buf, SNAME_OFFSET, SNAME_LEN),
    file: overload & 1 ? '' : cString(buf, FILE_OFFSET, FILE_LEN),
    options,
  };
}

function parseArea(buf: Buffer, start: number, end: number, area: string, pieces: Map<number, Buffer[]>): void {
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    if (code === OPT_END) return;
    if (i + 1 >= end) throw new DhcpDecodeError('option-overrun', `option ${code} at ${area} offset ${i - start} has no length byte`);
    const len = buf[i + 1]!;
    if (i + 2 + len > end) throw new DhcpDecodeError('option-overrun', `option ${code} (length ${len}) at ${area} offset ${i - start} runs past the end`);
    // Copy: the message must not pin the receive buffer.
    const payload = Buffer.from(buf.subarray(i + 2, i + 2 + len));
    const list = pieces.get(code);
    if (list) list.push(payload);
    else pieces.set(code, [payload]);
    i += 2 + len;
  }
  // No END before the field's end: tolerated (many clients pad or stop exactly at the end).
}

function ipAt(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function cString(buf: Buffer, off: number, len: number): string {
  const field = buf.subarray(off, off + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('latin1');
}

/**
 * Encodes a message. Options go 53 first, then in the map's order (callers put them in
 * priority order), END last; payloads over 255 bytes are split (RFC 3396). `maxSize` is the
 * largest DHCP message (UDP payload) the client accepts, at least 548 (576 less IP/UDP
 * headers). When the options field would exceed it, sname and file (if empty) carry options
 * via option 52; an option that still does not fit is left out (53 always fits).
 */
export function encodeDhcp(msg: DhcpMessage, maxSize?: number): Buffer {
  const limit = Math.max(MIN_MAX_DHCP_SIZE, Math.floor(maxSize ?? MIN_MAX_DHCP_SIZE));
  const order = optionOrder(msg.options);
  let plainSize = 1;
  for (const code of order) {
    const len = msg.options.get(code)!.length;
    plainSize += len + 2 * Math.max(1, Math.ceil(len / 255));
  }
  if (OPTIONS_START + plainSize <= limit) {
    // Fast path: everything fits in the options field; write straight into the packet.
    const out = Buffer.alloc(Math.max(MIN_PACKET, OPTIONS_START + plainSize));
    writeHeader(out, msg);
    let pos = OPTIONS_START;
    for (const code of order) pos = writeOption(out, pos, code, msg.options.get(code)!);
    out[pos] = OPT_END;
    return out;
  }
  const chunks = optionChunks(msg.options, order);
  const head = Buffer.alloc(OPTIONS_START);
  writeHeader(head, msg);

  // Overload: areas in RFC 3396 join order (options, file, sname), each ending with END.
  const areas: { start: number; size: number; used: Buffer[]; free: number }[] = [];
  const optionsRoom = limit - OPTIONS_START;
  const first = chunks[0];
  const mtChunk = first !== undefined && first[0] === OPT_MESSAGE_TYPE ? first : undefined;
  // 53 and the 52 marker come first in the options field; 1 byte for END.
  const reserved = (mtChunk?.length ?? 0) + 3 + 1;
  areas.push({ start: OPTIONS_START, size: optionsRoom, used: [], free: optionsRoom - reserved });
  const useFile = msg.file === '';
  const useSname = msg.sname === '';
  if (useFile) areas.push({ start: FILE_OFFSET, size: FILE_LEN, used: [], free: FILE_LEN - 1 });
  if (useSname) areas.push({ start: SNAME_OFFSET, size: SNAME_LEN, used: [], free: SNAME_LEN - 1 });
  // Pieces of one option must stay in join order: never place one before an earlier piece's area.
  const minArea = new Map<number, number>();
  for (const c of mtChunk ? chunks.slice(1) : chunks) {
    const code = c[0]!;
    const from = minArea.get(code) ?? 0;
    const idx = areas.findIndex((a, i) => i >= from && a.free >= c.length);
    if (idx < 0) {
      minArea.set(code, areas.length); // the rest of this option would be corrupt: drop it all
      continue;
    }
    areas[idx]!.used.push(c);
    areas[idx]!.free -= c.length;
    minArea.set(code, idx);
  }
  let overload = 0;
  for (const a of areas.slice(1)) if (a.used.length > 0) overload |= a.start === FILE_OFFSET ? 1 : 2;
  const optionsArea = areas[0]!;
  const lead = [...(mtChunk ? [mtChunk] : []), ...(overload ? [Buffer.from([OPT_OVERLOAD, 1, overload])] : [])];
  const optionsBytes = Buffer.concat([...lead, ...optionsArea.used, Buffer.from([OPT_END])]);
  const out = Buffer.alloc(Math.max(MIN_PACKET, OPTIONS_START + optionsBytes.length));
  head.copy(out);
  optionsBytes.copy(out, OPTIONS_START);
  for (const a of areas.slice(1)) {
    if (a.used.length === 0) continue;
    out.fill(0, a.start, a.start + a.size);
    Buffer.concat([...a.used, Buffer.from([OPT_END])]).copy(out, a.start);
  }
  return out;
}

/** Codes to write: 53 first, then map order; pad, end and 52 are the codec's own business. */
function optionOrder(options: Map<number, Buffer>): number[] {
  const order: number[] = options.has(OPT_MESSAGE_TYPE) ? [OPT_MESSAGE_TYPE] : [];
  for (const c of options.keys()) {
    if (c !== OPT_PAD && c !== OPT_END && c !== OPT_OVERLOAD && c !== OPT_MESSAGE_TYPE) order.push(c);
  }
  return order;
}

/** Writes one option (split in 255-byte instances when longer, RFC 3396); returns the next offset. */
function writeOption(out: Buffer, pos: number, code: number, data: Buffer): number {
  if (data.length === 0) {
    out[pos] = code;
    out[pos + 1] = 0;
    return pos + 2;
  }
  for (let i = 0; i < data.length; i += 255) {
    const n = Math.min(255, data.length - i);
    out[pos] = code;
    out[pos + 1] = n;
    data.copy(out, pos + 2, i, i + n);
    pos += 2 + n;
  }
  return pos;
}

/** Wire-ready option instances (code, len, data), long payloads split in 255-byte pieces. */
function optionChunks(options: Map<number, Buffer>, order: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (const code of order) {
    const data = options.get(code)!;
    if (data.length === 0) {
      out.push(Buffer.from([code, 0]));
      continue;
    }
    for (let i = 0; i < data.length; i += 255) {
      const piece = data.subarray(i, i + 255);
      out.push(Buffer.concat([Buffer.from([code, piece.length]), piece]));
    }
  }
  return out;
}

function writeHeader(b: Buffer, m: DhcpMessage): void {
  b[0] = m.op;
  b[1] = m.htype;
  b[2] = m.hlen;
  b[3] = m.hops;
  b.writeUInt32BE(m.xid >>> 0, 4);
  b.writeUInt16BE(m.secs & 0xffff, 8);
  b.writeUInt16BE(m.flags & 0xffff, 10);
  writeIp(b, 12, m.ciaddr, 'ciaddr');
  writeIp(b, 16, m.yiaddr, 'yiaddr');
  writeIp(b, 20, m.siaddr, 'siaddr');
  writeIp(b, 24, m.giaddr, 'giaddr');
  const mac = Buffer.from(m.chaddr.replace(/:/g, ''), 'hex');
  if (mac.length > 16) throw new Error(`encode DHCP message: chaddr ${m.chaddr} is longer than 16 bytes`);
  mac.copy(b, 28);
  b.write(m.sname.slice(0, SNAME_LEN - 1), SNAME_OFFSET, 'latin1');
  b.write(m.file.slice(0, FILE_LEN - 1), FILE_OFFSET, 'latin1');
  b.writeUInt32BE(MAGIC_COOKIE, HEADER);
}

function writeIp(b: Buffer, off: number, ip: string, field: string): void {
  const n = ip === '0.0.0.0' ? 0 : tryIpToInt(ip);
  if (n === undefined) throw new Error(`encode DHCP message: ${field} ${JSON.stringify(ip)} is not an IPv4 address`);
  b.writeUInt32BE(n, off);
}
