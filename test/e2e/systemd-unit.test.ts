// systemd/hostnet-agent.service passes `systemd-analyze verify` with no warning, and the check
// itself fails on a broken unit (so a green run means something).
import { describe, expect, it } from 'vitest';
import { readUnit, runnableCopy, verifyUnitText } from '../lib/agent-unit.js';

describe('systemd unit', () => {
  it('passes systemd-analyze verify without a single warning', async () => {
    expect(await verifyUnitText(runnableCopy(await readUnit()))).toEqual([]);
  });

  it('the check fails on an unknown key, a bad value or a missing binary', async () => {
    const good = runnableCopy(await readUnit());
    expect((await verifyUnitText(good.replace('WatchdogSec=', 'WatchdogSecs='))).join('\n')).toMatch(/Unknown key 'WatchdogSecs'/);
    expect((await verifyUnitText(good.replace('ProtectHome=yes', 'ProtectHome=maybe'))).join('\n')).toMatch(/protect home/i);
    expect((await verifyUnitText(await readUnit())).join('\n')).toMatch(/hostnet-agent is not executable/);
  });

  it('is a hardened notify service with only the capabilities networking needs', async () => {
    const unit = await readUnit();
    const value = (key: string): string | undefined => unit.match(new RegExp(`^${key}=(.*)$`, 'm'))?.[1];
    expect(value('Type')).toBe('notify');
    expect(value('WatchdogSec')).toBeDefined();
    expect(value('ExecStart')).toMatch(/^\/usr\/bin\/hostnet-agent/);
    expect(value('CapabilityBoundingSet')?.split(' ').sort()).toEqual(['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_ADMIN']);
    expect(value('AmbientCapabilities')?.split(' ').sort()).toEqual(['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_ADMIN']);
    for (const [k, v] of [['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['NoNewPrivileges', 'yes'],
      ['StateDirectory', 'hostnet'], ['RuntimeDirectory', 'hostnet']]) expect(value(k!), k).toBe(v);
    expect(value('RestrictAddressFamilies')?.split(' ')).toEqual(expect.arrayContaining(['AF_UNIX', 'AF_NETLINK', 'AF_INET', 'AF_INET6']));
  });
});
