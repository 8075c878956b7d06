// Netlink messages (struct nlmsghdr + family header + attributes) and the error/ack message.
import { attrsLength, parseAttrs, read, writeAttrs, type Attr } from './attributes.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
} from './constants.js';

export interface NlHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/** A request before the socket gives it a sequence number. */
export interface NlRequest {
  type: number;
  flags: number;
  /** The fixed family header (ifinfomsg, ifaddrmsg, rtmsg, ndmsg). */
  family: Buffer;
  attrs: Attr[];
}

export function encodeRequest(req: NlRequest, seq: number, pid = 0): Buffer {
  return encodeMessage({ type: req.type, flags: req.flags, seq, pid }, req.family, req.attrs);
}

/** A received message: its payload (family header + attributes) is buf[start, end). */
export interface NlMessage extends NlHeader {
  buf: Buffer;
  start: number;
  end: number;
}

/** The payload as its own view (decoders take buf/start/end instead, to save the allocation). */
export function payloadOf(msg: NlMessage): Buffer {
  return msg.buf.subarray(msg.start, msg.end);
}

/** One request: header fields, the fixed family header (ifinfomsg, rtmsg...), then attributes. */
export function encodeMessage(header: NlHeader, familyHeader: Buffer, attrs: readonly Attr[] = []): Buffer {
  const len = NLMSG_HDRLEN + familyHeader.length + attrsLength(attrs);
  const buf = Buffer.alloc(len);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(header.type, 4);
  buf.writeUInt16LE(header.flags, 6);
  buf.writeUInt32LE(header.seq >>> 0, 8);
  buf.writeUInt32LE(header.pid >>> 0, 12);
  familyHeader.copy(buf, NLMSG_HDRLEN);
  writeAttrs(buf, NLMSG_HDRLEN + familyHeader.length, attrs);
  return buf;
}

/** Splits a datagram into messages that point into `buf`. */
export function decodeMessages(buf: Buffer, length = buf.length): NlMessage[] {
  const out: NlMessage[] = [];
  let pos = 0;
  while (pos + NLMSG_HDRLEN <= length) {
    const len = buf.readUInt32LE(pos);
    if (len < NLMSG_HDRLEN || pos + len > length) break;
    out.push({
      type: buf.readUInt16LE(pos + 4),
      flags: buf.readUInt16LE(pos + 6),
      seq: buf.readUInt32LE(pos + 8),
      pid: buf.readUInt32LE(pos + 12),
      buf,
      start: pos + NLMSG_HDRLEN,
      end: pos + len,
    });
    pos += (len + 3) & ~3;
  }
  return out;
}

export interface NlError {
  /** 0 for an ACK, otherwise a positive errno. */
  errno: number;
  /** Extended ack text (NLMSGERR_ATTR_MSG) when the kernel gave one. */
  message?: string;
  /** Byte offset in our request of the attribute the kernel blamed. */
  offset?: number;
  /** Sequence number of the request this answers. */
  requestSeq: number;
}

/** struct nlmsgerr: int error; struct nlmsghdr msg; [request payload unless capped]; [TLVs]. */
export function decodeError(msg: NlMessage): NlError {
  const p = payloadOf(msg);
  const errno = -p.readInt32LE(0);
  const requestLen = p.readUInt32LE(4);
  const requestSeq = p.readUInt32LE(12);
  const result: NlError = { errno, requestSeq };
  if (msg.flags & NLM_F_ACK_TLVS) {
    const tlvStart = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : requestLen);
    const tlvs = parseAttrs(p, (tlvStart + 3) & ~3);
    const text = read.str(tlvs.get(NLMSGERR_ATTR_MSG));
    if (text) result.message = text;
    const offset = read.u32(tlvs.get(NLMSGERR_ATTR_OFFS));
    if (offset !== undefined) result.offset = offset;
  }
  return result;
}

export const isError = (m: NlHeader): boolean => m.type === NLMSG_ERROR;
export const isDone = (m: NlHeader): boolean => m.type === NLMSG_DONE;
