// Whether this kernel has 802.1Q (the CI host's does not; the VM fixture's does).
import { execa } from 'execa';
import { createTestNetns, destroyTestNetns } from './netns.js';

let cached: Promise<boolean> | undefined;

/** Tries `type vlan` on a veth in a scratch namespace. */
export function kernelHasVlan(): Promise<boolean> {
  cached ??= (async () => {
    const ns = await createTestNetns('vlanprobe');
    try {
      await execa('ip', ['-n', ns, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
      const r = await execa('ip', ['-n', ns, 'link', 'add', 'link', 'probe0', 'name', 'probe0.5', 'type', 'vlan', 'id', '5'], { reject: false });
      return r.exitCode === 0;
    } finally {
      await destroyTestNetns(ns);
    }
  })();
  return cached;
}
