import { describe, expect, it } from 'vitest';
import { domainName } from '../../../../dhcp/options/domain-name.js';

describe('option 15 domain-name', () => {
  it('has code 15', () => expect(domainName.code).toBe(15));
  it('is text without a terminating NUL', () => {
    expect(domainName.encode('lab.example').toString('latin1')).toBe('lab.example');
    expect(domainName.decode(Buffer.from('lab.example'))).toBe('lab.example');
  });
  it('drops trailing NULs some clients send', () => {
    expect(domainName.decode(Buffer.from('host1\0\0', 'latin1'))).toBe('host1');
  });
  it('refuses empty text', () => {
    expect(() => domainName.encode('')).toThrow(/empty/);
    expect(() => domainName.decode(Buffer.alloc(0))).toThrow(/empty/);
  });
});
