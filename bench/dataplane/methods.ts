// The four ways of doing the same work that bench/dataplane compares, each timed in phases.
import { execa } from 'execa';
import { openIproute2Dataplane } from '../../dataplane/iproute2/backend.js';
import { openNetlinkDataplane } from '../../dataplane/netlink/backend.js';
import type { Dataplane } from '../../dataplane/types.js';
import { attachments, BRIDGE, GROUP, ipLines } from './workload.js';

export interface PhaseTimes {
  createMs: number;
  observeMs: number;
  teardownMs: number;
  /** Links seen by the observation: a check that every method built the same thing. */
  observedLinks: number;
}

export interface Method {
  name: string;
  /** Measured once per size, not in every round: it takes minutes at N = 1000. */
  slow?: boolean;
  run(n: number, hostNs: string, peerNs: string): Promise<PhaseTimes>;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const result = await fn();
  return [performance.now() - t0, result];
}

function viaDataplane(name: string, open: (netns: string) => Promise<Dataplane>): Method {
  return {
    name,
    async run(n, hostNs, peerNs) {
      const host = await open(hostNs);
      const peer = await open(peerNs);
      try {
        await host.ensureBridge({ name: BRIDGE, up: true });
        const list = attachments(n);
        const [createMs] = await timed(async () => {
          // As the agent does: every pair first (peers down), then the peers up in one batch;
          // bringing each peer up right after its pair makes the kernel's carrier work
          // contend with the creations.
          await Promise.all(list.map((a) => host.ensureVeth({
            name: a.host, mtu: 1500, mac: a.mac, alias: a.alias, group: GROUP, master: BRIDGE, up: true,
            peer: { name: a.peer, netns: peerNs },
          })));
          const failed = (await host.setLinksIn(peerNs, list.map((a) => ({ name: a.peer, up: true })))).find((e) => e !== null);
          if (failed) throw failed;
          await Promise.all(list.map((a) => peer.addAddress({ dev: a.peer, cidr: a.cidr })));
        });
        const [observeMs, state] = await timed(() => host.observe(['addresses', 'routes']));
        const [teardownMs] = await timed(() => host.deleteLinkGroup(GROUP));
        return { createMs, observeMs, teardownMs, observedLinks: state.links.length };
      } finally {
        await host.close();
        await peer.close();
      }
    },
  };
}

async function ipBatch(netns: string, lines: string[][]): Promise<void> {
  await execa('ip', ['-n', netns, '-batch', '-'], { input: lines.map((l) => l.join(' ')).join('\n') + '\n' });
}

/** What a script would do to see the same state: links, addresses and routes as JSON. */
export async function observeWithIp(netns: string): Promise<number> {
  const [links] = await Promise.all([
    execa('ip', ['-n', netns, '-j', '-d', 'link', 'show']),
    execa('ip', ['-n', netns, '-j', 'addr', 'show']),
    execa('ip', ['-n', netns, '-j', 'route', 'show', 'table', 'all']),
  ]).then((results) => results.map((r) => JSON.parse(r.stdout) as unknown[]));
  return links?.length ?? 0;
}

const ipBatchMethod: Method = {
  name: 'ip -batch (one file)',
  async run(n, hostNs, peerNs) {
    await execa('ip', ['-n', hostNs, 'link', 'add', BRIDGE, 'up', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    const lines = ipLines(n, peerNs);
    const [createMs] = await timed(async () => {
      await ipBatch(hostNs, lines.host);
      await ipBatch(peerNs, lines.peer);
    });
    const [observeMs, observedLinks] = await timed(() => observeWithIp(hostNs));
    const [teardownMs] = await timed(() => ipBatch(hostNs, lines.teardown));
    return { createMs, observeMs, teardownMs, observedLinks };
  },
};

const ipPerOperationMethod: Method = {
  name: 'ip, one process per operation',
  slow: true,
  async run(n, hostNs, peerNs) {
    await execa('ip', ['-n', hostNs, 'link', 'add', BRIDGE, 'up', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    const lines = ipLines(n, peerNs);
    const [createMs] = await timed(async () => {
      for (const l of lines.host) await execa('ip', ['-n', hostNs, ...l]);
      for (const l of lines.peer) await execa('ip', ['-n', peerNs, ...l]);
    });
    const [observeMs, observedLinks] = await timed(() => observeWithIp(hostNs));
    // One process per device, as a script deleting attachments one at a time would.
    const [teardownMs] = await timed(async () => {
      for (const l of lines.teardownOneByOne) await execa('ip', ['-n', hostNs, ...l]);
    });
    return { createMs, observeMs, teardownMs, observedLinks };
  },
};

export const methods: Method[] = [
  viaDataplane('hostnet over netlink', (ns) => openNetlinkDataplane(ns)),
  viaDataplane('hostnet over iproute2', (ns) => openIproute2Dataplane(ns)),
  ipBatchMethod,
  ipPerOperationMethod,
];
