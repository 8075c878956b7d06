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
});
