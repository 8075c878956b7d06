import { describe, expect, it } from 'vitest';
import { OPT, optionCodec, readOption, router } from '../../../../dhcp/options/index.js';

describe('option registry', () => {
  it('has a codec for every named code but pad and end, under the same code', () => {
    for (const [name, code] of Object.entries(OPT)) {
      if (code === 0 || code === 255) continue;
      expect(optionCodec(code)?.code, name).toBe(code);
    }
    expect(optionCodec(200)).toBeUndefined();
  });
  it('readOption gives undefined for absent or malformed payloads', () => {
    const m = new Map([[3, Buffer.from([10, 0, 0, 1])]]);
    expect(readOption(m, router)).toEqual(['10.0.0.1']);
    expect(readOption(new Map(), router)).toBeUndefined();
    expect(readOption(new Map([[3, Buffer.from([1])]]), router)).toBeUndefined();
  });
});
