// Option 82 (RFC 3046): relay agent information, sub-options the relay adds and the server echoes
// back unchanged in its reply. Decoded only to validate and show it.
import { OptionError, type OptionCodec } from './codec.js';

export interface RelaySubOption {
  /** 1 circuit id, 2 remote id, others per later RFCs. */
  code: number;
  data: Buffer;
}

export const relayAgentInfo: OptionCodec<RelaySubOption[]> = {
  code: 82,
  name: 'relay-agent-info',
  encode(subs) {
    if (subs.length === 0) throw new OptionError(82, 'relay-agent-info', 'encode', 'no sub-options');
    const parts: Buffer[] = [];
    for (const s of subs) {
      if (s.data.length > 255) throw new OptionError(82, 'relay-agent-info', 'encode', `sub-option ${s.code} is longer than 255 bytes`);
      parts.push(Buffer.from([s.code, s.data.length]), s.data);
    }
    return Buffer.concat(parts);
  },
  decode(p) {
    const subs: RelaySubOption[] = [];
    let i = 0;
    while (i < p.length) {
      const code = p[i]!;
      const len = p[i + 1];
      if (len === undefined || i + 2 + len > p.length) {
        throw new OptionError(82, 'relay-agent-info', 'decode', `sub-option ${code} at offset ${i} runs past the end`);
      }
      subs.push({ code, data: Buffer.from(p.subarray(i + 2, i + 2 + len)) });
      i += 2 + len;
    }
    if (subs.length === 0) throw new OptionError(82, 'relay-agent-info', 'decode', 'no sub-options');
    return subs;
  },
};
