// The iproute2 backend and address protocols (IFA_PROTO). Debian 12's ip 6.1 has none; 6.3 and
// later take `proto N` and print "protocol" (a name, or "%#x" under -N), so those outputs are
// fixtures here, shaped as ip/ipaddress.c prints them; the live behaviour is in conformance.
import { describe, expect, it } from 'vitest';
import { addressLine } from '../../dataplane/iproute2/l3.js';
import { parseMonitorLine } from '../../dataplane/iproute2/monitor-lines.js';
import { addressProtocol, parseAddresses } from '../../dataplane/iproute2/parse.js';

describe('iproute2 address protocol', () => {
  it('reads "protocol" as ip -j -N prints it, and its absence (ip 6.1) as 0', () => {
    expect(['0x68', '104', 'kernel_ll', 'kernel_lo', 'unspec', '0', 'an-admin-name', undefined].map(addressProtocol))
      .toEqual([104, 104, 3, 1, 0, 0, 0, 0]);
    const parsed = parseAddresses([{
      ifindex: 7, ifname: 'br0', addr_info: [
        { family: 'inet', local: '198.51.100.1', prefixlen: 24, scope: 0, protocol: '0x68' },
        { family: 'inet', local: '192.0.2.5', prefixlen: 24, scope: 0 },
      ],
    }]);
    expect(parsed.map((a) => `${a.cidr} ${a.protocol}`)).toEqual(['198.51.100.1/24 104', '192.0.2.5/24 0']);
  });

  it('reads "proto" from ip monitor lines', () => {
    const line = parseMonitorLine('[ADDR]7: br0    inet 198.51.100.1/24 scope global proto 0x68 br0');
    expect(line).toMatchObject({ kind: 'address', action: 'new', address: { index: 7, cidr: '198.51.100.1/24', protocol: 104 } });
    expect(parseMonitorLine('[ADDR]7: br0    inet 192.0.2.5/24 scope global br0')).toMatchObject({ address: { protocol: 0 } });
  });

  it('writes proto only on add and only when non-zero; refuses a value past 255', () => {
    expect(addressLine('add', 'add address', { dev: 'br0', cidr: '198.51.100.1/24', protocol: 104 }))
      .toEqual(['addr', 'add', '198.51.100.1/24', 'dev', 'br0', 'proto', '104']);
    expect(addressLine('add', 'add address', { dev: 'br0', cidr: '2001:db8::1/64', nodad: true, protocol: 0 }))
      .toEqual(['addr', 'add', '2001:db8::1/64', 'dev', 'br0', 'nodad']);
    expect(addressLine('del', 'delete address', { dev: 'br0', cidr: '198.51.100.1/24', protocol: 104 }))
      .toEqual(['addr', 'del', '198.51.100.1/24', 'dev', 'br0']);
    expect(() => addressLine('add', 'add address', { dev: 'br0', cidr: '198.51.100.1/24', protocol: 256 })).toThrow(/protocol 256/);
  });
});
