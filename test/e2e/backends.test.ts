// The real hostnet-agent on each dataplane backend (--dataplane netlink|iproute2): apply through
// hostnetctl, drift repair driven by the backend's watch() (the periodic resync is off), and a
// kill -9 restart that converges without recreating a link. The kernel is checked with `ip -j`.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipLink, ipLinks } from '../../dataplane/testing/ip.js';
import { buildDist } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually, network, veth, type StateJson } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';
import { ipMonitorPids } from '../lib/ip-monitor-pids.js';

beforeAll(buildDist);

describe.each(['netlink', 'iproute2'])('hostnet-agent --dataplane %s', (backend) => {
  const ns = useNetns(2, 'all', `be-${backend.slice(0, 2)}`);
  const host = (): string => ns[0]!;
  const work = (): string => ns[1]!;
  const session = new AgentSession();
  const start = async (): Promise<void> => { await session.boot(host(), ['--dataplane', backend]); };
  const ports = ['hv-a', 'hv-b', 'hv-c'];

  const desired = (): StateJson => ({
    generation: 1,
    networks: [network('web', 1)],
    attachments: ports.map((p, i) => veth(`pod-${i}`, 'web', p, work(), `net${i}`)),
  });

  const allReady = (): Promise<boolean> => session.allReady({ networks: 1, attachments: ports.length });

  /** name -> ifindex in both namespaces. */
  async function indexes(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [where, netns] of [['host', host()], ['work', work()]] as const) {
      for (const l of await ipLinks(netns)) out[`${where}/${l.ifname}`] = l.ifindex;
    }
    return out;
  }

  beforeAll(async () => {
    await session.open(`hostnet-be-${backend}-`);
    await start();
  });
  afterAll(() => session.close());

  it('runs on the asked backend', async () => {
    expect(session.agent!.logs()).toContain(`"dataplane":"${backend}"`);
    // Witness: only the iproute2 backend watches the kernel through an `ip monitor` child.
    expect((await ipMonitorPids(host())).length).toBe(backend === 'iproute2' ? 1 : 0);
  });

  it('apply through hostnetctl creates the bridge and the veths, peers in the workload namespace', async () => {
    await session.applyText(JSON.stringify(desired()), 'json');
    expect(await ipLink(host(), 'hn-web')).toMatchObject({ kind: 'bridge', ifalias: 'hostnet:bridge:web' });
    for (const [i, p] of ports.entries()) {
      expect(await ipLink(host(), p)).toMatchObject({ kind: 'veth', master: 'hn-web' });
      expect(await ipLink(work(), `net${i}`)).toBeDefined();
    }
    await eventually('everything Ready', allReady);
  });

  it('drift: the bridge deleted by hand comes back with its ports, and Ready', async () => {
    const oldIndex = (await ipLink(host(), 'hn-web'))!.ifindex;
    await execa('ip', ['-n', host(), 'link', 'del', 'hn-web']);
    await eventually('hn-web back with its ports', async () => {
      const links = await ipLinks(host());
      const web = links.find((l) => l.ifname === 'hn-web');
      return web !== undefined && web.ifindex !== oldIndex && ports.every((p) => links.find((l) => l.ifname === p)?.master === 'hn-web');
    });
    await eventually('everything Ready again', allReady);
  });

  it('kill -9 and restart: converged with no link recreated', async () => {
    const before = await indexes();
    await session.agent!.kill9();
    session.agent = null;
    // The killed agent's monitor goes with it (PR_SET_PDEATHSIG): no orphan keeps running.
    await eventually('no ip monitor left', async () => (await ipMonitorPids(host())).length === 0, 5000);
    await start();
    expect(session.agent!.logs()).toMatch(/"actions":0/);
    expect(await indexes()).toEqual(before);
    await eventually('everything Ready', allReady);
    expect((await ipMonitorPids(host())).length).toBe(backend === 'iproute2' ? 1 : 0);
  });
});
