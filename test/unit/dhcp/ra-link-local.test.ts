// Which address RAs come from: the device's link-local one, only once DAD has passed.
import { describe, expect, it } from 'vitest';
import { parseIfInet6, usableLinkLocal } from '../../../dhcp/ra/link-local.js';

// /proc/net/if_inet6 of a namespace whose bridge (index 2) has a global and a link-local address.
const TABLE = `fd000077000000000000000000000001 02 40 00 80      br0
fe80000000000000204bb0fffecc6db3 02 40 20 80      br0
00000000000000000000000000000001 01 80 10 80       lo
fe800000000000000000000000000009 05 40 20 c0     vh0
`;

describe('link-local source', () => {
  it('parses the table', () => {
    expect(parseIfInet6(TABLE)[1]).toEqual({ address: 'fe80::204b:b0ff:fecc:6db3', ifindex: 2, scope: 0x20, flags: 0x80 });
  });
  it('picks the link-local address of the device, not its global one nor another device\'s', () => {
    expect(usableLinkLocal(TABLE, 2)).toBe('fe80::204b:b0ff:fecc:6db3');
    expect(usableLinkLocal(TABLE, 3)).toBeNull();
  });
  it('a tentative (DAD running) or DAD-failed address is not usable', () => {
    expect(usableLinkLocal(TABLE, 5)).toBeNull(); // flags 0xc0: permanent + tentative
    expect(usableLinkLocal(TABLE.replace('20 80      br0', '20 88      br0'), 2)).toBeNull(); // dadfailed
  });
});
