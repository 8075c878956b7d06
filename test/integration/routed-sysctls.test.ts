// The routed devices' switch batch (dataplane/sysctl.ts) in a namespace of its own: the
// kernel's defaults read without a process per key, a missing key as null, writes read back, a
// device name with a dot kept as one path component.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { sysctlBatch } from '../../dataplane/sysctl.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(1, 'each', 'rtd');

describe('sysctlBatch', () => {
  it('reads defaults and missing keys, writes, reads back', async () => {
    await execa('ip', ['-n', ns[0]!, 'link', 'add', 'hv.r1', 'type', 'veth', 'peer', 'name', 'p0']);
    const b = sysctlBatch(ns[0]!);
    const keys = ['net/ipv4/conf/hv.r1/forwarding', 'net/ipv4/conf/hv.r1/proxy_arp', 'net/ipv4/neigh/hv.r1/proxy_delay', 'net/ipv4/conf/nope/forwarding'];
    expect([...(await b.read(keys)).values()]).toEqual(['0', '0', '80', null]);
    await b.write([['net/ipv4/conf/hv.r1/forwarding', '1'], ['net/ipv4/conf/hv.r1/proxy_arp', '1'], ['net/ipv4/neigh/hv.r1/proxy_delay', '0']]);
    expect([...(await b.read(keys)).values()]).toEqual(['1', '1', '0', null]);
    expect([...(await b.read(['net/ipv4/conf/gone/forwarding'])).values()]).toEqual([null]);
  });

  it('writes in the namespace only, every good key, and names every key that failed', async () => {
    await execa('ip', ['-n', ns[0]!, 'link', 'add', 'hv-r2', 'type', 'veth', 'peer', 'name', 'p1']);
    const b = sysctlBatch(ns[0]!);
    const err = await b.write([
      ['net/ipv4/conf/hv-r2/forwarding', 'not-a-number'], ['net/ipv4/conf/hv-r2/proxy_arp', '1'], ['net/ipv4/conf/gone/forwarding', '1'],
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`set sysctl net/ipv4/conf/hv-r2/forwarding, net/ipv4/conf/gone/forwarding in ${ns[0]}: EINVAL`);
    // Witnessed by sysctl(8) in the namespace: the good key was written, the bad one left alone.
    const read = async (key: string) => (await execa('ip', ['netns', 'exec', ns[0]!, 'sysctl', '-n', key])).stdout.trim();
    expect(await read('net.ipv4.conf.hv-r2.proxy_arp')).toBe('1');
    expect(await read('net.ipv4.conf.hv-r2.forwarding')).toBe('0');
    // The host's own namespace has no such device: nothing was written there.
    await expect(execa('sysctl', ['-n', 'net.ipv4.conf.hv-r2.proxy_arp'])).rejects.toThrow();
    // A key is a plain path under /proc/sys.
    await expect(b.write([['net/ipv4/../../../etc/passwd', '1']])).rejects.toThrow(/plain components/);
    await expect(b.read(['net//ipv4'])).rejects.toThrow(/plain components/);
  });
});
