// A real container runtime drives hostnet-cni: Debian's podman 4.3 (CNI backend, crun, a busybox
// root filesystem; nothing pulled) runs containers on a CNI network whose only plugin is
// hostnet-cni, against the real hostnet-agent. podman runs in a namespace of its own, the agent
// in another; the pod's namespace is podman's (/run/netns/netns-<uuid>), the veth's host end is
// made in the agent's. The harness is checked first with Debian's own bridge + host-local, so a
// failure below it is hostnet's. podman 4.3's libcni reads results up to CNI 1.0.0 ("unsupported
// CNI result version 1.1.0" otherwise), so the conflists say 1.0.0; it passes --ip and
// --mac-address as CNI_ARGS IP= and MAC=.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { AddressSource, type AttachmentStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { ip, ipLinks } from '../../dataplane/testing/ip.js';
import { agentClient, buildDist, hostnetctl, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, network, type StateJson } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';
import { podmanSandbox, type PodmanSandbox } from '../lib/podman-sandbox.js';

const root = path.resolve(import.meta.dirname, '../..');
const PLUGIN_JS = path.join(root, 'dist/agent/cni-plugin/main.js');
const NET = 'web';
const GATEWAY = '10.77.63.1';

beforeAll(buildDist);

// [0]: the agent's host namespace; [1]: where podman runs (and Debian's bridge lives).
const ns = useNetns(2, 'all', 'hp');
let pm: PodmanSandbox | null = null;
let hostLinksBefore: string[] = [];

const hostLinkNames = async (): Promise<string[]> =>
  (JSON.parse(await ip(null, '-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname).sort();
const podman = async (...args: string[]): Promise<string> => {
  const r = await pm!.podman(args);
  expect(r.exitCode, `podman ${args.join(' ')}:\n${r.all}`).toBe(0);
  return r.stdout;
};

beforeAll(async () => {
  hostLinksBefore = await hostLinkNames();
  // What podman finds in its plugin directory under the name the conflist's "type" gives.
  pm = await podmanSandbox(ns[1]!, { 'hostnet-cni': `#!/bin/sh\nexec ${process.execPath} ${PLUGIN_JS} "$@"\n` });
});
afterAll(async () => {
  await pm?.destroy();
});

describe('the harness', () => {
  it('a container on Debian\'s bridge + host-local gets an address and pings its gateway, all inside podman\'s namespace', async () => {
    await pm!.conflist('hp-br', {
      cniVersion: '1.0.0', name: 'hp-br',
      plugins: [{
        type: 'bridge', bridge: 'hpbr0', isGateway: true, ipMasq: false,
        ipam: { type: 'host-local', dataDir: path.join(pm!.dir, 'host-local'), routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet: '10.79.201.0/24', gateway: '10.79.201.1' }]] },
      }],
    });
    const out = await podman('run', '--rm', '--network', 'hp-br', '--rootfs', pm!.rootfs,
      '/bin/sh', '-c', 'ip -4 -o addr show eth0; ip route; ping -c1 -W2 10.79.201.1');
    expect(out).toMatch(/inet 10\.79\.201\.\d+\/24/);
    expect(out).toContain('default via 10.79.201.1');
    expect(out).toContain('1 packets received');
    expect((await ipLinks(ns[1]!)).map((l) => l.ifname)).toContain('hpbr0');
  });
});

describe('podman drives hostnet-cni', () => {
  let dir: string;
  let socket: string;
  let agent: AgentProcess | null = null;
  let client: NodeAgentClient | null = null;

  const attachments = async (): Promise<AttachmentStatus[]> => (await rpc(client!, client!.getStatus, {})).attachments;
  const ofContainer = async (id: string): Promise<AttachmentStatus | undefined> => (await attachments()).find((a) => a.containerId === id);

  beforeAll(async () => {
    if (!existsSync(PLUGIN_JS)) throw new Error(`hostnet-cni not built: ${PLUGIN_JS} missing`);
    dir = await mkdtemp(path.join(tmpdir(), 'hostnet-hp-cni-'));
    socket = path.join(dir, 'run', 'agent.sock');
    agent = await startAgent({ netns: ns[0]!, socket, stateDir: path.join(dir, 'state') });
    client = agentClient(socket);
    const state: StateJson = { generation: 1, networks: [network(NET, 63)], attachments: [] };
    await writeFile(path.join(dir, 'state.json'), JSON.stringify(state));
    const applied = await hostnetctl(socket, ['apply', '-f', path.join(dir, 'state.json')]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    await pm!.conflist('hp-web', {
      cniVersion: '1.0.0', name: 'hp-web',
      plugins: [{ type: 'hostnet-cni', network: NET, agentSocket: socket, capabilities: { ips: true, mac: true } }],
    });
  });
  afterAll(async () => {
    // Containers first (their DEL needs the agent), then the agent.
    await pm?.podman(['rm', '--all', '--force', '--time', '0']);
    client?.close();
    if (agent) await agent.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('podman run --rm: the container has an auto address of the network with the default route via the gateway, and pings it', async () => {
    const started = Date.now();
    const out = await podman('run', '--rm', '--network', 'hp-web', '--rootfs', pm!.rootfs,
      '/bin/sh', '-c', `ip -4 -o addr show eth0; ip route; ping -c1 -W2 ${GATEWAY}`);
    const took = Date.now() - started;
    expect(out).toMatch(/inet 10\.77\.63\.\d+\/24/);
    expect(out).toContain(`default via ${GATEWAY}`);
    expect(out).toContain('1 packets received');
    console.log(`podman run --rm on hostnet-cni (ADD, the container, DEL): ${took} ms; the container said:\n${out}`);
    // DEL ran: nothing of the container is left in the agent.
    await eventually('no hostnet-cni attachment left', async () => (await attachments()).every((a) => a.containerId === ''));
  });

  it('a running container: the agent reports its attachment, podman recorded the same address, and removing it deletes the attachment', async () => {
    const id = (await podman('run', '-d', '--name', 'hp-c1', '--network', 'hp-web', '--rootfs', pm!.rootfs, '/bin/sleep', '300')).trim().split('\n').pop()!;
    const a = await eventually('the attachment of the container', () => ofContainer(id));
    expect(a.workloadIfName).toBe('eth0');
    expect(a.gateway).toBe(GATEWAY);
    expect(a.addresses).toHaveLength(1);
    const addr = a.addresses[0]!;
    expect(addr).toMatchObject({ prefixLength: 24, source: AddressSource.ADDRESS_SOURCE_AUTO, assigned: true });
    expect(addr.ip).toMatch(/^10\.77\.63\.\d+$/);
    // The veth's host end is in the agent's namespace, none in podman's.
    expect((await ipLinks(ns[0]!)).filter((l) => l.ifname.startsWith('cni')).map((l) => l.kind)).toEqual(['veth']);
    expect((await ipLinks(ns[1]!)).filter((l) => l.kind === 'veth')).toEqual([]);

    expect(await podman('exec', 'hp-c1', 'ip', '-4', '-o', 'addr', 'show', 'eth0')).toContain(`inet ${addr.ip}/24`);
    expect((await podman('exec', 'hp-c1', 'cat', '/sys/class/net/eth0/address')).trim()).toBe(a.mac);
    expect(await podman('exec', 'hp-c1', 'ping', '-c1', '-W2', GATEWAY)).toContain('1 packets received');
    // libcni parsed our result: podman shows the address and MAC it returned.
    const seen = await podman('inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.MacAddress}}{{end}}', 'hp-c1');
    expect(seen.trim()).toBe(`${addr.ip} ${a.mac}`);
    const listed = await hostnetctl(socket, ['get', 'attachments']);
    expect(listed.stdout).toContain(id.slice(0, 12));

    // The pod's namespace, podman's: gone with the container.
    const sandbox = (await podman('inspect', '--format', '{{.NetworkSettings.SandboxKey}}', 'hp-c1')).trim();
    expect(existsSync(sandbox), sandbox).toBe(true);
    await podman('rm', '--force', '--time', '0', 'hp-c1');
    await eventually('the attachment removed by DEL', async () => (await ofContainer(id)) === undefined);
    expect((await ipLinks(ns[0]!)).filter((l) => l.ifname.startsWith('cni'))).toEqual([]);
    expect(existsSync(sandbox), sandbox).toBe(false);
  });

  it('--ip and --mac-address (CNI_ARGS IP= and MAC=) give the container that address and MAC', async () => {
    const out = await podman('run', '--rm', '--network', 'hp-web', '--ip', '10.77.63.50', '--mac-address', '02:00:00:63:00:50',
      '--rootfs', pm!.rootfs, '/bin/sh', '-c', `ip -4 -o addr show eth0; cat /sys/class/net/eth0/address; ping -c1 -W2 ${GATEWAY}`);
    expect(out).toContain('inet 10.77.63.50/24');
    expect(out).toContain('02:00:00:63:00:50');
    expect(out).toContain('1 packets received');
  });
});

describe('the host', () => {
  it('has the same interfaces as before', async () => {
    expect(await hostLinkNames()).toEqual(hostLinksBefore);
  });
});
