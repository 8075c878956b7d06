import { describe, expect, it } from 'vitest';
import { checkMac } from '../../../dataplane/validate.js';
import {
  defaultBridgeName, deriveAttachmentMac, networkGroup, ownerAlias, parseOwnerAlias, tapHostMac, TEARDOWN_GROUP,
  vlanDeviceName, vxlanDeviceName,
} from '../../../agent/naming.js';

describe('derived names', () => {
  it('bridge names fit IFNAMSIZ and are stable', () => {
    expect(defaultBridgeName('web')).toBe('hn-web');
    const long = defaultBridgeName('a-very-long-network-name');
    expect(Buffer.byteLength(long)).toBe(15);
    expect(long).toBe(defaultBridgeName('a-very-long-network-name'));
    expect(long).not.toBe(defaultBridgeName('a-very-long-network-name-2'));
  });

  it('vlan and vxlan device names', () => {
    expect(vlanDeviceName('eth1', 600)).toBe('eth1.600');
    const long = vlanDeviceName('enp129s0f1np1', 4094);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(15);
    expect(long.startsWith('hnv4094-')).toBe(true);
    expect(vxlanDeviceName(16777215)).toBe('hnvx16777215');
  });

  it('derived MACs are stable, unicast and locally administered', () => {
    const mac = deriveAttachmentMac('vm1-nic0');
    expect(mac).toBe(deriveAttachmentMac('vm1-nic0'));
    expect(mac).not.toBe(deriveAttachmentMac('vm1-nic1'));
    const first = parseInt(mac.slice(0, 2), 16);
    expect(first & 1).toBe(0);
    expect(first & 2).toBe(2);
    expect(() => checkMac('t', 't', mac)).not.toThrow();
    expect(tapHostMac('52:54:00:AA:00:01')).toBe('fe:54:00:aa:00:01');
  });

  it('ownership markers round-trip and foreign aliases are not markers', () => {
    expect(ownerAlias('tap', 'vm1-nic0')).toBe('hostnet:tap:vm1-nic0');
    expect(parseOwnerAlias('hostnet:bridge:web')).toEqual({ kind: 'bridge', name: 'web' });
    expect(parseOwnerAlias('hostnet:router:x')).toBeNull();
    expect(parseOwnerAlias('uplink to rack 3')).toBeNull();
    expect(parseOwnerAlias(null)).toBeNull();
  });

  it('network link groups are non-zero, stable, and never the teardown group', () => {
    const g = networkGroup('web');
    expect(g).toBe(networkGroup('web'));
    expect(g >>> 24).toBe(0x6e);
    expect(g).not.toBe(TEARDOWN_GROUP);
  });
});
