// Issue 8 part 3 with the real agent: on a bridge the admin made (importedBridge), hostnet adds
// the gateway with its address protocol and, when the network goes, removes exactly that: the
// bridge, the admin's address and its route stay. Witnesses: `ip -j` for addresses, routes and
// links; test/lib/addr-protocols.py for IFA_PROTO, which ip 6.1 cannot print.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { HOSTNET_ADDR_PROTO } from '../../agent/naming.js';
import { field, ipAddresses, ipLink, ipRoutes } from '../../dataplane/testing/ip.js';
import { addressProtocols } from '../lib/addr-protocols.js';
import { agentClient, buildDist, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, state } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(1, 'all', 'impbr');
const host = (): string => ns[0]!;
let dir: string;
let agent: AgentProcess | null = null;
let client: NodeAgentClient;

const BRIDGE = 'br-admin';
const ADMIN = '192.0.2.5/24';
const GATEWAY = '198.51.100.1/24';

/** The IPv4 addresses on the bridge as `ip -j addr` shows them (link-local IPv6 is the kernel's). */
async function bridgeAddresses(): Promise<string[]> {
  return (await ipAddresses(host())).filter((a) => a.dev === BRIDGE && a.family === 'inet').map((a) => a.cidr).sort();
}

/** IPv4 routes of the main table through the bridge, as "dst proto". */
async function bridgeRoutes(): Promise<string[]> {
  return (await ipRoutes(host()))
    .filter((r) => field(r, 'dev') === BRIDGE && field(r, 'table') === '254' && !String(field(r, 'dst')).includes(':'))
    .map((r) => `${String(field(r, 'dst'))} ${String(field(r, 'protocol'))}`).sort();
}

async function protocolOf(cidr: string): Promise<number | undefined> {
  return (await addressProtocols(host())).find((a) => a.cidr === cidr)?.protocol;
}

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-e2e-impbr-'));
  // The admin's bridge, with an address of the admin's own.
  await execa('ip', ['-n', host(), 'link', 'add', BRIDGE, 'type', 'bridge']);
  await execa('ip', ['-n', host(), 'addr', 'add', ADMIN, 'dev', BRIDGE]);
  await execa('ip', ['-n', host(), 'link', 'set', BRIDGE, 'up']);
  agent = await startAgent({ netns: host(), socket: path.join(dir, 'agent.sock'), stateDir: path.join(dir, 'state') });
  client = agentClient(path.join(dir, 'agent.sock'));
});

afterAll(async () => {
  client?.close();
  if (agent) await agent.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('an imported bridge after its network is removed', () => {
  it('carries the gateway hostnet added, marked with hostnet\'s address protocol', async () => {
    const ifindex = (await ipLink(host(), BRIDGE))!.ifindex;
    await rpc(client, client.apply, {
      dryRun: false,
      state: state({
        generation: 1,
        networks: [{
          name: 'ext', ipFamily: 'IPV4', cidr: '198.51.100.0/24', gateway: '198.51.100.1', gatewayOnBridge: true,
          importedBridge: true, bridgeName: BRIDGE,
        }],
      }),
    });
    await eventually('the gateway on the bridge', async () => (await bridgeAddresses()).includes(GATEWAY));
    expect(await bridgeAddresses()).toEqual([ADMIN, GATEWAY].sort());
    expect(await protocolOf(GATEWAY)).toBe(HOSTNET_ADDR_PROTO);
    expect(await protocolOf(ADMIN)).toBe(0);
    expect(await bridgeRoutes()).toEqual(['192.0.2.0/24 2', '198.51.100.0/24 2']); // proto kernel: connected routes
    expect((await ipLink(host(), BRIDGE))!.ifindex).toBe(ifindex);
  });

  it('loses exactly that: the gateway and its route go; the bridge, the admin\'s address and route stay', async () => {
    const before = await ipLink(host(), BRIDGE);
    await rpc(client, client.apply, { dryRun: false, state: state({ generation: 2, networks: [] }) });
    await eventually('the gateway gone', async () => !(await bridgeAddresses()).includes(GATEWAY));
    expect(await bridgeAddresses()).toEqual([ADMIN]);
    expect(await protocolOf(ADMIN)).toBe(0);
    expect(await bridgeRoutes()).toEqual(['192.0.2.0/24 2']);
    const after = await ipLink(host(), BRIDGE);
    expect(after).toMatchObject({ ifindex: before!.ifindex, kind: 'bridge', mtu: before!.mtu, address: before!.address });
    expect(after!.ifalias).toBeUndefined();
  });
});
