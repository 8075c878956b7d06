import { describe, expect, it } from 'vitest';
import { hostname } from '../../../../dhcp/options/hostname.js';

describe('option 12 hostname', () => {
  it('has code 12', () => expect(hostname.code).toBe(12));
  it('is text without a terminating NUL', () => {
    expect(hostname.encode('lab.example').toString('latin1')).toBe('lab.example');
    expect(hostname.decode(Buffer.from('lab.example'))).toBe('lab.example');
  });
  it('drops trailing NULs some clients send', () => {
    expect(hostname.decode(Buffer.from('host1\0\0', 'latin1'))).toBe('host1');
  });
  it('refuses empty text', () => {
    expect(() => hostname.encode('')).toThrow(/empty/);
    expect(() => hostname.decode(Buffer.alloc(0))).toThrow(/empty/);
  });
});
