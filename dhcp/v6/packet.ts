// The DHCPv6 wire format (RFC 8415 8): a client/server message is msg-type (1 byte),
// transaction-id (3 bytes), then options, each a 16-bit code and a 16-bit length. Decoding is
// total: any input either yields a Dhcp6Message or throws a Dhcp6DecodeError whose `reason`
// is a stable counter label. Every option this server knows is decoded once to check it (a
// bad DUID, a truncated nested option): what decodeDhcp6 returns, readOption6 reads without
// surprises. Options are kept raw and in order, unknown ones included, so encoding a decoded
// message gives back its bytes. Relay messages (RFC 8415 9) are not served yet: refused.
import { Option6Error, option6Codec, type Dhcp6Option, type Option6Reason } from './options/index.js';
import { joinOptions, splitOptions } from './options/codec.js';

export interface Dhcp6Message {
  /** DHCP6.SOLICIT .. DHCP6.INFORMATION_REQUEST, or any other client/server type (not relay). */
  msgType: number;
  /** 24 bits. */
  transactionId: number;
  /** Raw payloads in wire order; codes may repeat (several IA_NAs). */
  options: Dhcp6Option[];
}

export const DHCP6 = {
  SOLICIT: 1,
  ADVERTISE: 2,
  REQUEST: 3,
  CONFIRM: 4,
  RENEW: 5,
  REBIND: 6,
  REPLY: 7,
  RELEASE: 8,
  DECLINE: 9,
  RECONFIGURE: 10,
  INFORMATION_REQUEST: 11,
  RELAY_FORW: 12,
  RELAY_REPL: 13,
} as const;
export type Dhcp6MessageType = (typeof DHCP6)[keyof typeof DHCP6];

/** UDP ports (RFC 8415 7.2). */
export const DHCP6_CLIENT_PORT = 546;
export const DHCP6_SERVER_PORT = 547;

const HEADER = 4;

export type Dhcp6DecodeReason =
  | 'truncated' | 'bad-msg-type' | 'relay-not-supported' | 'option-overrun' | 'internal' | Option6Reason;

export class Dhcp6DecodeError extends Error {
  override readonly name = 'Dhcp6DecodeError';
  /** Short stable key, e.g. 'truncated', 'bad-duid': used as a counter label. */
  readonly reason: Dhcp6DecodeReason;
  constructor(reason: Dhcp6DecodeReason, detail: string) {
    super(`decode DHCPv6 message: ${reason}: ${detail}`);
    this.reason = reason;
  }
}

export function decodeDhcp6(buf: Buffer): Dhcp6Message {
  try {
    return decodeUnchecked(buf);
  } catch (err) {
    if (err instanceof Dhcp6DecodeError) throw err;
    // A bug in the decoder must still surface as a drop with a label, not as a crash.
    throw new Dhcp6DecodeError('internal', String(err));
  }
}

function decodeUnchecked(buf: Buffer): Dhcp6Message {
  if (!Buffer.isBuffer(buf)) throw new Dhcp6DecodeError('truncated', 'input is not a Buffer');
  if (buf.length < HEADER) throw new Dhcp6DecodeError('truncated', `${buf.length} bytes, a DHCPv6 message has at least ${HEADER}`);
  const msgType = buf[0]!;
  if (msgType === 0) throw new Dhcp6DecodeError('bad-msg-type', 'msg-type 0 is reserved');
  if (msgType === DHCP6.RELAY_FORW || msgType === DHCP6.RELAY_REPL) {
    throw new Dhcp6DecodeError('relay-not-supported', `msg-type ${msgType} (${msgType === DHCP6.RELAY_FORW ? 'Relay-forward' : 'Relay-reply'}) is a relay message, not served`);
  }
  const options = splitOptions(buf, HEADER, (detail) => {
    throw new Dhcp6DecodeError('option-overrun', detail);
  });
  for (const o of options) checkOption(o);
  return { msgType, transactionId: buf.readUIntBE(1, 3), options };
}

/** Decodes a known option once so that a malformed one fails the message with its reason. */
function checkOption(o: Dhcp6Option): void {
  const codec = option6Codec(o.code);
  if (!codec) return;
  try {
    codec.decode(o.data);
  } catch (err) {
    if (!(err instanceof Option6Error)) throw err;
    throw new Dhcp6DecodeError(err.reason, `option ${err.code} (${err.optionName}): ${err.detail}`);
  }
}

/** Encodes a message: the header, then the options in the given order. Throws Error on values out of range. */
export function encodeDhcp6(msg: Dhcp6Message): Buffer {
  if (!Number.isInteger(msg.msgType) || msg.msgType < 1 || msg.msgType > 255) {
    throw new Error(`encode DHCPv6 message: msg-type ${msg.msgType} is not 1..255`);
  }
  if (!Number.isInteger(msg.transactionId) || msg.transactionId < 0 || msg.transactionId > 0xffffff) {
    throw new Error(`encode DHCPv6 message: transaction-id ${msg.transactionId} is not a 24-bit unsigned integer`);
  }
  const body = joinOptions(msg.options, (detail) => {
    throw new Error(`encode DHCPv6 message: ${detail}`);
  });
  const out = Buffer.alloc(HEADER + body.length);
  out[0] = msg.msgType;
  out.writeUIntBE(msg.transactionId, 1, 3);
  body.copy(out, HEADER);
  return out;
}
