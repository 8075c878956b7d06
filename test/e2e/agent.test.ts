// The real hostnet-agent process in a test namespace playing the host, driven through gRPC
// and hostnetctl, with the kernel checked by `ip -j`. Tests run in order and share one agent
// (the restart test replaces it), like an operator's day on one node.
import * as grpc from '@grpc/grpc-js';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient, WatchStatusResponse } from '../../agent/api/gen/hostnet/v1/agent.js';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import {
  agentClient, buildDist, hostnetctl, rpc, rpcError, runAgentExpectingFailure, startAgent, type AgentProcess,
} from '../lib/agent-process.js';
import { nodeScriptArgs, REPO_ROOT, TAP_HOLDER_JS } from '../lib/agent-native.js';
import { eventually, network, state, tap, veth, type StateJson } from '../lib/agent-state.js';
import { ipLink, ipLinks, type WitnessLink } from '../../dataplane/testing/ip.js';
import { useNetns } from '../lib/netns.js';
import { connectAs, hostnetctlRefused } from '../lib/socket-probe.js';

const ns = useNetns(2, 'all', 'agent');
let dir: string;
let socket: string;
let stateDir: string;
let agent: AgentProcess | null = null;
let client: NodeAgentClient;

const host = (): string => ns[0]!;
const work = (): string => ns[1]!;

/** The node's first desired state: web (VXLAN uplink) with a TAP and a veth, db with a veth. */
const v1 = (): StateJson => ({
  generation: 1,
  networks: [
    network('web', 1, { uplink: { vxlan: { vni: 42, local: '192.0.2.10', remote: '192.0.2.20', device: 'underlay0' } } }),
    network('db', 2),
  ],
  attachments: [
    tap('vm1-nic0', 'web', 'tap-vm1', { mac: '52:54:00:00:00:01', ip: { static: '10.77.1.71' } }),
    veth('pod-a', 'web', 'hv-poda', `/var/run/netns/${work()}`, 'net1'),
    veth('pod-b', 'db', 'hv-podb', work(), 'net2'),
  ],
});

/** name -> ifindex of every link in the host namespace. */
async function indexes(): Promise<Map<string, number>> {
  return new Map((await ipLinks(host())).map((l) => [l.ifname, l.ifindex]));
}

async function status() {
  return rpc(client, client.getStatus, {});
}

async function ready(kind: 'networks' | 'attachments', name: string): Promise<boolean> {
  const s = await status();
  return s[kind].find((x) => x.name === name)?.conditions.find((c) => c.type === 'Ready')?.status === ConditionStatus.CONDITION_STATUS_TRUE;
}

async function kernelSnapshot(): Promise<string> {
  // Bridge timers tick by themselves: compare what a change would touch, not the timers.
  const strip = (l: WitnessLink) => ({ ...l, data: l.kind === 'bridge' ? undefined : l.data, operstate: undefined, flags: l.flags.filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER') });
  const links = (await ipLinks(host())).map(strip);
  const peers = (await ipLinks(work())).map(strip);
  const addrs = (await execa('ip', ['-n', host(), '-j', 'addr', 'show'])).stdout;
  return JSON.stringify({ links, peers, addrs: JSON.parse(addrs).map((a: { ifname: string; addr_info: { local: string }[] }) => [a.ifname, a.addr_info.map((x) => x.local)]) });
}

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-e2e-'));
  await chmod(dir, 0o755); // others may reach the socket's directory: only the socket's mode refuses them
  socket = path.join(dir, 'run', 'agent.sock');
  stateDir = path.join(dir, 'state');
  // The host's own devices, which hostnet must never touch: a VXLAN underlay and a foreign bridge.
  await execa('ip', ['-n', host(), 'link', 'add', 'underlay0', 'type', 'bridge']);
  await execa('ip', ['-n', host(), 'addr', 'add', '192.0.2.10/24', 'dev', 'underlay0']);
  await execa('ip', ['-n', host(), 'link', 'set', 'underlay0', 'up']);
  await execa('ip', ['-n', host(), 'link', 'add', 'foreign0', 'type', 'bridge']);
  agent = await startAgent({ netns: host(), socket, stateDir });
  client = agentClient(socket);
});

afterAll(async () => {
  client?.close();
  if (agent) await agent.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('hostnet-agent end to end', () => {
  it('listens on a 0660 socket, reports health, and refuses to steal a live socket', async () => {
    const { stat } = await import('node:fs/promises');
    expect((await stat(socket)).mode & 0o777).toBe(0o660);
    const second = await runAgentExpectingFailure(['--netns', host(), '--socket', socket, '--state-dir', path.join(dir, 'other'), '--config', '/dev/null']);
    expect(second.exitCode).not.toBe(0);
    expect(second.output).toMatch(/in use by a running agent/);
    const health = await new Promise<{ status: number }>((resolve, reject) => {
      const c = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
      // grpc.health.v1.HealthCheckRequest{service=""} is empty; the response's field 1 is the status enum.
      c.makeUnaryRequest('/grpc.health.v1.Health/Check', (x: Buffer) => x, (b: Buffer) => ({ status: b[1] ?? 0 }), Buffer.alloc(0),
        (err, res) => { c.close(); if (err) reject(err); else resolve(res!); });
    });
    expect(health.status).toBe(1); // SERVING
  });

  it('Apply creates bridges, the VXLAN uplink, the TAP and veths with peers in the workload namespace', async () => {
    const res = await rpc(client, client.apply, { state: state(v1()), dryRun: false });
    expect(res.generation).toBe(1);
    expect(res.plan.join('\n')).toMatch(/ensure bridge hn-web/);
    const web = await ipLink(host(), 'hn-web');
    expect(web).toMatchObject({ kind: 'bridge', ifalias: 'hostnet:bridge:web' });
    expect(await ipLink(host(), 'hnvx42')).toMatchObject({ kind: 'vxlan', master: 'hn-web' });
    expect(await ipLink(host(), 'tap-vm1')).toMatchObject({ kind: 'tun', master: 'hn-web', address: 'fe:54:00:00:00:01' });
    expect(await ipLink(host(), 'hv-poda')).toMatchObject({ kind: 'veth', master: 'hn-web' });
    expect(await ipLink(host(), 'hv-podb')).toMatchObject({ kind: 'veth', master: 'hn-db' });
    expect((await ipLink(work(), 'net1'))?.flags).toContain('UP');
    expect(await ipLink(work(), 'net2')).toBeDefined();
    await eventually('web and pod-a Ready', async () => (await ready('networks', 'web')) && (await ready('attachments', 'pod-a')));
    const s = await status();
    expect(s.observedGeneration).toBe(1);
    // Nobody holds the TAP open: configured, but no carrier; its static address is reserved (DHCP serves it).
    const vm = s.attachments.find((a) => a.name === 'vm1-nic0')!;
    expect(vm.conditions.map((c) => `${c.type}=${c.status === ConditionStatus.CONDITION_STATUS_TRUE}`)).toEqual(['Configured=true', 'Negotiated=false', 'AddressesAssigned=true', 'Ready=false']);
    expect((await ipLink(host(), 'foreign0'))?.ifalias).toBeUndefined();
  });

  it('a TAP is Negotiated while a process (the VM) holds it open, and not after', async () => {
    // What QEMU does: open /dev/net/tun and attach to the TAP by name (IFF_TAP | IFF_NO_PI).
    const vm = execa('ip', ['netns', 'exec', host(), process.execPath, ...nodeScriptArgs(TAP_HOLDER_JS, 'tap-vm1')], { cwd: REPO_ROOT, reject: false, buffer: false });
    try {
      await eventually('vm1-nic0 Ready', () => ready('attachments', 'vm1-nic0'));
    } finally {
      vm.kill('SIGKILL');
      await vm;
    }
    await eventually('vm1-nic0 no longer Ready', async () => !(await ready('attachments', 'vm1-nic0')));
    const s = await status();
    expect(s.attachments.find((a) => a.name === 'vm1-nic0')?.conditions.find((c) => c.type === 'Negotiated')?.reason).toBe('NoCarrier');
  });

  it('hostnetctl shows the node: get, describe, ips, json', async () => {
    const nets = await hostnetctl(socket, ['get', 'networks']);
    expect(nets.exitCode).toBe(0);
    expect(nets.stdout.split('\n')[0]).toMatch(/^NAME\s+BRIDGE\s+CIDR\s+UPLINK\s+READY\s+AGE$/);
    expect(nets.stdout).toMatch(/web\s+hn-web\s+10\.77\.1\.0\/24\s+vxlan 42\s+True/);
    const atts = await hostnetctl(socket, ['get', 'attachments', '-o', 'wide']);
    expect(atts.stdout).toMatch(/vm1-nic0\s+web\s+tap\s+tap-vm1\s+10\.77\.1\.71\/24\s+False/);
    const desc = await hostnetctl(socket, ['describe', 'attachment', 'pod-a']);
    expect(desc.stdout).toMatch(/Negotiated\s+True\s+CarrierUp\s+\d+[smhd]/);
    // A neighbour hostnet knows nothing about: a foreign holder.
    await execa('ip', ['-n', host(), 'neigh', 'add', '10.77.2.99', 'lladdr', '02:00:00:00:00:99', 'dev', 'hn-db', 'nud', 'permanent']);
    const ips = await hostnetctl(socket, ['get', 'ips']);
    expect(ips.stdout).toMatch(/db\s+10\.77\.2\.99\s+foreign\s+02:00:00:00:00:99\s+no/);
    expect(ips.stdout).toMatch(/db\s+10\.77\.2\.0\/24\s+254\s+2\s+252/);
    expect(ips.stdout).toMatch(/web\s+10\.77\.1\.1\s+gateway/);
    expect(ips.stdout).toMatch(/web\s+10\.77\.1\.71\s+attachment\s+vm1-nic0\s+yes/);
    const json = JSON.parse((await hostnetctl(socket, ['get', 'networks', '-o', 'json'])).stdout) as { networks: { name: string }[] };
    expect(json.networks.map((n) => n.name)).toEqual(['web', 'db']);
    const leases = await hostnetctl(socket, ['get', 'leases', '-o', 'yaml']);
    expect(leases.exitCode).toBe(0);
    const missing = await hostnetctl(socket, ['describe', 'network', 'nope']);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr.trim()).toBe('hostnetctl: network "nope" not found');
  });

  it('change through hostnetctl apply: MTU and a new attachment, same ifindexes; dry-run changes nothing', async () => {
    const before = await indexes();
    const next = v1();
    next.generation = 2;
    next.networks![1] = network('db', 2, { mtu: 1400 });
    next.attachments!.push(tap('vm2-nic0', 'db', 'tap-vm2'));
    const file = path.join(dir, 'v2.yaml');
    await writeFile(file, JSON.stringify(next));
    const snapshot = await kernelSnapshot();
    const dry = await hostnetctl(socket, ['apply', '-f', file, '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/ensure tap tap-vm2/);
    expect(await kernelSnapshot()).toBe(snapshot);
    expect((await rpc(client, client.getState, {})).state?.generation).toBe(1);
    const applied = await hostnetctl(socket, ['apply', '-f', file]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^applied generation 2:/);
    expect((await ipLink(host(), 'hn-db'))?.mtu).toBe(1400);
    expect((await ipLink(host(), 'hv-podb'))?.mtu).toBe(1400);
    expect((await ipLink(host(), 'tap-vm2'))?.master).toBe('hn-db');
    const after = await indexes();
    for (const [name, index] of before) expect(after.get(name), name).toBe(index);
  });

  it('drift repair: a bridge deleted by hand comes back, a port detached by hand is re-attached', async () => {
    await execa('ip', ['-n', host(), 'link', 'del', 'hn-web']);
    await eventually('hn-web back with its ports', async () => {
      const links = await ipLinks(host());
      const master = (n: string) => links.find((l) => l.ifname === n)?.master;
      return links.some((l) => l.ifname === 'hn-web') && master('tap-vm1') === 'hn-web' && master('hv-poda') === 'hn-web' && master('hnvx42') === 'hn-web';
    });
    await execa('ip', ['-n', host(), 'link', 'set', 'hv-podb', 'nomaster']);
    await eventually('hv-podb re-attached', async () => (await ipLink(host(), 'hv-podb'))?.master === 'hn-db');
    await eventually('web Ready again', () => ready('networks', 'web'));
  });

  it('kill -9 and restart: the stale socket is replaced, nothing is recreated, converged', async () => {
    const before = await indexes();
    await agent!.kill9();
    agent = null;
    client.close();
    agent = await startAgent({ netns: host(), socket, stateDir });
    client = agentClient(socket);
    expect(agent.logs()).toMatch(/"converged after start"/);
    expect(agent.logs()).toMatch(/"actions":0/); // re-adopted: nothing to do
    expect(await indexes()).toEqual(before);
    expect((await status()).observedGeneration).toBe(2);
    await eventually('converged', async () => (await ready('networks', 'web')) && (await ready('networks', 'db')) && (await ready('attachments', 'pod-a')));
  });

  describe('bad input: INVALID_ARGUMENT naming the problem, nothing changed', () => {
    const cases: [string, (s: StateJson) => void, RegExp][] = [
      ['CIDR of the wrong family', (s) => { s.networks!.push({ ...network('v6', 9), cidr: 'fd00::/64' }); }, /networks\[2\]\.cidr: .*IPv6 but ipFamily is IPV4/],
      ['gateway outside the CIDR', (s) => { s.networks![1]!['gateway'] = '10.99.0.1'; }, /networks\[1\]\.gateway: .*outside/],
      ['VLAN id out of range', (s) => { s.networks!.push(network('vl', 9, { uplink: { vlan: { parent: 'underlay0', id: 5000 } } })); }, /uplink\.vlan\.id/],
      ['interface name over 15 bytes', (s) => { s.attachments!.push(tap('long', 'db', 'tap-much-too-long-name')); }, /tap\.ifName/],
      ['duplicate MAC', (s) => { s.attachments!.push(tap('vm9', 'db', 'tap-vm9', { mac: '52:54:00:00:00:01' })); }, /mac-unique|already used/],
      ['unknown network', (s) => { s.attachments!.push(tap('vm9', 'nope', 'tap-vm9')); }, /network "nope" is not defined/],
      ['CIDR changed', (s) => { s.networks![1]!['cidr'] = '10.88.2.0/24'; s.networks![1]!['gateway'] = '10.88.2.1'; }, /immutable-cidr/],
      ['stale generation', (s) => { s.generation = 1; }, /generation 1 is older than the stored generation 2/],
      ['static IP taken by the gateway', (s) => { s.attachments!.push(tap('vm9', 'db', 'tap-vm9', { ip: { static: '10.77.2.1' } })); }, /ip-collides-gateway/],
    ];
    const current = (): StateJson => {
      const s = v1();
      s.generation = 3;
      s.networks![1] = network('db', 2, { mtu: 1400 });
      s.attachments!.push(tap('vm2-nic0', 'db', 'tap-vm2'));
      return s;
    };
    it.each(cases)('%s', async (_name, spoil, expected) => {
      const stored = await readFile(path.join(stateDir, 'desired-state.json'), 'utf8');
      const snapshot = await kernelSnapshot();
      const bad = current();
      spoil(bad);
      const err = await rpcError(client, client.apply, { state: state(bad), dryRun: false });
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(expected);
      expect(await readFile(path.join(stateDir, 'desired-state.json'), 'utf8')).toBe(stored);
      expect(await kernelSnapshot()).toBe(snapshot);
    });

    it('hostnetctl prints every violation on its own line and exits non-zero', async () => {
      const bad = current();
      bad.networks![1]!['gateway'] = '10.99.0.1';
      bad.attachments!.push(tap('vm9', 'nope', 'tap-vm9'));
      const file = path.join(dir, 'bad.yaml');
      await writeFile(file, JSON.stringify(bad));
      const r = await hostnetctl(socket, ['apply', '-f', file]);
      expect(r.exitCode).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^hostnetctl: INVALID_ARGUMENT: invalid desired state, 2 violations:$/);
      expect(lines.slice(1)).toEqual([expect.stringMatching(/^- networks\[1\]\.gateway: /), expect.stringMatching(/^- attachments\[4\]\.network: /)]);
    });
  });

  it('single-resource RPCs and WatchStatus: an attachment whose peer netns is missing shows why; the rest stays Ready', async () => {
    const got: WatchStatusResponse[] = [];
    const stream = client.watchStatus({ sendInitial: true });
    stream.on('data', (m: WatchStatusResponse) => got.push(m));
    stream.on('error', () => undefined); // cancelled below
    try {
      await eventually('initial conditions', () => got.some((m) => m.resourceName === 'web' && m.condition?.type === 'Ready'));
      const gen = (await rpc(client, client.getState, {})).state!.generation;
      const attachment = state({ attachments: [veth('pod-x', 'db', 'hv-podx', '/var/run/netns/hntest-missing-netns')] }).attachments[0]!;
      const stale = await rpcError(client, client.upsertAttachment, { attachment, expectedGeneration: gen - 1, dryRun: false });
      expect(stale.code).toBe(grpc.status.FAILED_PRECONDITION);
      const res = await rpc(client, client.upsertAttachment, { attachment, expectedGeneration: gen, dryRun: false });
      expect(res.generation).toBe(gen + 1);
      expect(res.plan.join('\n')).toMatch(/cannot ready attachment pod-x: Configured False, PeerNetnsMissing/);
      await eventually('PeerNetnsMissing streamed', () => got.some((m) => m.resourceName === 'pod-x' && m.condition?.type === 'Configured' &&
        m.condition.status === ConditionStatus.CONDITION_STATUS_FALSE && m.condition.reason === 'PeerNetnsMissing'));
      expect(await ipLink(host(), 'hv-podx')).toBeUndefined();
      expect(await ready('networks', 'db')).toBe(true);
      expect(await ready('attachments', 'pod-b')).toBe(true);
      expect((await rpcError(client, client.deleteNetwork, { name: 'db', cascade: false, dryRun: false })).code).toBe(grpc.status.FAILED_PRECONDITION);
      expect((await rpcError(client, client.deleteAttachment, { name: 'nope', dryRun: false })).code).toBe(grpc.status.NOT_FOUND);
      const del = await rpc(client, client.deleteAttachment, { name: 'pod-x', dryRun: false });
      expect(del.generation).toBe(gen + 2);
      expect((await status()).attachments.map((a) => a.name)).not.toContain('pod-x');
    } finally {
      stream.cancel();
    }
  });

  it('a client not allowed on the socket (uid 65534) is refused', async () => {
    // The same raw connect, root (the socket's owner) as the control: the probe itself works.
    expect(await connectAs(socket)).toBe('connected');
    expect(await connectAs(socket, 65534)).toBe('EACCES');
  });

  it('hostnetctl refused by a socket says so in one line', async () => {
    const r = await hostnetctlRefused(dir, ['get', 'networks']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/cannot reach the agent .*permission denied/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('removing a network and its attachments removes exactly their devices', async () => {
    const before = await indexes();
    const s = DesiredState.fromPartial((await rpc(client, client.getState, {})).state!);
    const next = state({ generation: s.generation + 1, networks: [network('db', 2, { mtu: 1400 })], attachments: [veth('pod-b', 'db', 'hv-podb', work(), 'net2'), tap('vm2-nic0', 'db', 'tap-vm2')] });
    await rpc(client, client.apply, { state: next, dryRun: false });
    const after = await indexes();
    const gone = [...before.keys()].filter((n) => !after.has(n)).sort();
    expect(gone).toEqual(['hn-web', 'hnvx42', 'hv-poda', 'tap-vm1']);
    for (const [name, index] of after) expect(before.get(name), name).toBe(index);
    expect(await ipLink(work(), 'net1')).toBeUndefined();
    expect(await ipLink(work(), 'net2')).toBeDefined();
    expect(after.has('underlay0') && after.has('foreign0')).toBe(true);
  });

  it('SIGTERM stops the agent cleanly and the devices stay', async () => {
    const before = await indexes();
    expect(await agent!.stop()).toBe(0);
    agent = null;
    expect(await indexes()).toEqual(before);
  });
});
