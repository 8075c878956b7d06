// Port security on Debian's own kernel (6.1, where nf_tables, nf_conntrack, br_netfilter and
// nf_conntrack_bridge are modules), not only on the CI host's kernel (everything built in, no
// nf_conntrack_bridge). Runs INSIDE the QEMU VM fixture: `bash test/debian-kernel/run.sh`
// (modules from test/vm/prepare.sh's list, insmod'ed at boot: the guest has no modprobe for
// them). The real agent (dist/agent/main.js, compiled on the host) protects veth workloads:
//   a  group web (INGRESS TCP 8080 only, no EGRESS rule), static 10.77.9.10
//   b  group client (EGRESS UDP 7000 to the subnet), static 10.77.9.20
//   c  unprotected peer, 10.77.9.50
//   d  protected, no group, address by DHCP from the network's own server
// Witnesses: real traffic (socat, a python listener per namespace) and nft's named
// counters read with nft in the agent's namespace. The guest is slow (TCG): few, coarse tests.
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { killAll, spawnAgent, waitForLog, type Agent } from '../../agent/testing/launch.js';
import { agentClient, rpc } from '../lib/agent-process.js';
import { eventually } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';
import { nftCounter, startListener, tcpRequest, udpSend, type Listener } from './probes.js';

const A = '10.77.9.10';
const B = '10.77.9.20';
const C = '10.77.9.50';
const SPOOF_IP = '10.77.9.99';
const MAC = { a: '02:00:00:09:00:0a', b: '02:00:00:09:00:0b', c: '02:00:00:09:00:0c', d: '02:00:00:09:00:0d' };
const SPOOF_MAC = '02:00:00:09:00:99';
// Modules this suite needs loaded in the guest (test/vm/prepare.sh's list and what they pull in).
const MODULES = ['nf_tables', 'nft_ct', 'nft_objref', 'nft_meta_bridge', 'nf_conntrack', 'br_netfilter', 'nf_conntrack_bridge'];

const ns = useNetns(5, 'all', 'psd');
const host = (): string => ns[0]!;
const wl = { a: (): string => ns[1]!, b: (): string => ns[2]!, c: (): string => ns[3]!, d: (): string => ns[4]! };

function desired(): DesiredState {
  const att = (name: 'a' | 'b' | 'c' | 'd', extra: Record<string, unknown>): Record<string, unknown> => ({
    name, network: 'psd', mac: MAC[name], veth: { ifName: `psd-${name}`, peerNetns: wl[name](), peerIfName: 'eth0' }, ...extra,
  });
  return DesiredState.fromJSON({
    generation: 1,
    networks: [{
      name: 'psd', ipFamily: 'IPV4', cidr: '10.77.9.0/24', gateway: '10.77.9.1', gatewayOnBridge: true,
      dhcp: { enabled: true, serverAddress: '10.77.9.2', pools: [{ start: '10.77.9.100', end: '10.77.9.150' }], leaseSeconds: 600 },
    }],
    securityGroups: [
      { name: 'web', rules: [{ direction: 'INGRESS', protocol: 'TCP', fromPort: 8080 }] },
      { name: 'client', rules: [{ direction: 'EGRESS', protocol: 'UDP', fromPort: 7000, remoteCidr: '10.77.9.0/24' }] },
    ],
    attachments: [
      att('a', { ip: { static: A }, portSecurity: { enabled: true, securityGroups: ['web'] } }),
      att('b', { ip: { static: B }, portSecurity: { enabled: true, securityGroups: ['client'] } }),
      att('c', { ip: { static: C } }),
      att('d', { ip: { auto: {} }, portSecurity: { enabled: true } }),
    ],
  });
}

// udhcpc's hook: prints what it got ("udhcpc-EVENT ip=..."), installs a bound address.
const HOOK = `#!/bin/sh
echo "udhcpc-$1 ip=\${ip:-} serverid=\${serverid:-}"
case $1 in bound|renew) ip addr add "$ip/\${mask:-24}" dev "$interface" ;; esac
exit 0
`;

const inVm = process.env['HOSTNET_IN_VM'] !== undefined;
let dir = '';
let socket = '';
let stateDir = '';
let agent: Agent | null = null;
let client: NodeAgentClient | null = null;
const listeners: Listener[] = [];
let onA: Listener;
let onC: Listener;

const sh = (netns: string, cmd: string): Promise<unknown> => execa('ip', ['netns', 'exec', netns, 'sh', '-c', cmd]);

/** Starts the agent and waits for its first convergence (node starts slowly under TCG). */
async function start(): Promise<void> {
  agent = spawnAgent(host(), socket, stateDir);
  await waitForLog(agent, '"converged after start"', 0, 120_000);
  client?.close();
  client = agentClient(socket);
}

async function securityApplied(): Promise<boolean> {
  const s = await rpc(client!, client!.getStatus, {});
  return ['a', 'b', 'd'].every((n) => s.attachments.find((x) => x.name === n)?.conditions
    .some((c) => c.type === 'SecurityApplied' && c.status === ConditionStatus.CONDITION_STATUS_TRUE));
}

/** The counter went up from `before`: the packet was dropped by our rule (so never delivered). */
async function countedAbove(family: 'bridge' | 'inet', name: string, before: number): Promise<number> {
  return eventually(`${family} counter ${name} above ${before}`, async () => {
    const n = await nftCounter(host(), family, name);
    return n > before ? n : undefined;
  }, 20_000);
}

describe('port security on Debian\'s kernel (VM fixture)', () => {
  beforeAll(async () => {
    if (!inVm) throw new Error('this suite checks Debian\'s kernel: run it in the VM fixture with `bash test/debian-kernel/run.sh`');
    dir = await mkdtemp(path.join(tmpdir(), 'hntest-psd-'));
    socket = path.join(dir, 'run', 'agent.sock');
    stateDir = path.join(dir, 'state');
    // No IPv6: its autoconfiguration chatter (MLD, DAD) would add to the counters we compare.
    for (const n of ns) await sh(n, 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1');
    await start();
    await rpc(client!, client!.apply, { state: desired(), dryRun: false });
    await eventually('SecurityApplied True on a, b, d', securityApplied, 60_000);
    await sh(wl.a(), `ip addr replace ${A}/24 dev eth0`);
    await sh(wl.b(), `ip addr replace ${B}/24 dev eth0`);
    await sh(wl.c(), `ip addr replace ${C}/24 dev eth0`);
    onA = await startListener(wl.a(), [8080, 9090], [5353]);
    onC = await startListener(wl.c(), [], [7000]);
    listeners.push(onA, onC);
  }, 300_000);

  afterAll(async () => {
    for (const l of listeners) await l.stop().catch(() => undefined);
    client?.close();
    await killAll(); // by pid: the agents this file started
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs on Debian\'s kernel with the netfilter modules loaded, bridge conntrack included', async () => {
    expect((await execa('uname', ['-r'])).stdout).toMatch(/-amd64$/);
    const loaded = (await readFile('/proc/modules', 'utf8')).split('\n').map((l) => l.split(' ')[0]);
    expect(MODULES.filter((m) => !loaded.includes(m)), 'modules missing: add them to test/vm/prepare.sh').toEqual([]);
    expect((await execa('ip', ['netns', 'exec', host(), 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables'])).stdout).toBe('1');
  });

  it('stateful policy: an allowed TCP connection works and its replies pass without an EGRESS rule; denied TCP and UDP are dropped and counted', async () => {
    expect(await tcpRequest(wl.c(), A, 8080, 'hello-8080', 30)).toEqual({ answer: 'echo hello-8080' });

    // Denied TCP: a listens on 9090 too, so only the filter can keep the connection from being made.
    const inBefore = await nftCounter(host(), 'inet', 'policy-in-a');
    expect(await tcpRequest(wl.c(), A, 9090, 'hello-9090', 3)).toEqual({ timedOut: true });
    const afterTcp = await countedAbove('inet', 'policy-in-a', inBefore);
    await udpSend(wl.c(), C, A, 5353, 'denied-udp');
    await countedAbove('inet', 'policy-in-a', afterTcp);
    expect(onA.log()).not.toMatch(/9090|denied-udp/);

    // The reply above passed by conntrack alone: a NEW flow from a (no EGRESS rule) is dropped.
    const outBefore = await nftCounter(host(), 'inet', 'policy-out-a');
    await udpSend(wl.a(), A, C, 7000, 'new-from-a');
    await countedAbove('inet', 'policy-out-a', outBefore);
    expect(onC.log()).not.toContain('new-from-a');
  }, 120_000);

  it('anti-spoofing: another source address and another source MAC are dropped and counted in spoof-b', async () => {
    // Control: from its own address and MAC, b's allowed egress arrives.
    await udpSend(wl.b(), B, C, 7000, 'own-1');
    await eventually('own-1 at c', () => onC.log().includes(`udp 7000 ${B} own-1`), 20_000);

    const s0 = await nftCounter(host(), 'bridge', 'spoof-b');
    await sh(wl.b(), `ip addr add ${SPOOF_IP}/32 dev eth0`);
    await udpSend(wl.b(), SPOOF_IP, C, 7000, 'spoofed-ip');
    const s1 = await countedAbove('bridge', 'spoof-b', s0);

    // Another MAC, and a static neighbour so no ARP (also checked) is involved: the UDP frame itself.
    const cMac = MAC.c;
    await sh(wl.b(), `ip neigh replace ${C} lladdr ${cMac} dev eth0 nud permanent && ip link set dev eth0 address ${SPOOF_MAC}`);
    await udpSend(wl.b(), B, C, 7000, 'spoofed-mac');
    await countedAbove('bridge', 'spoof-b', s1);

    await sh(wl.b(), `ip link set dev eth0 address ${MAC.b}`);
    await udpSend(wl.b(), B, C, 7000, 'own-2');
    await eventually('own-2 at c', () => onC.log().includes(`udp 7000 ${B} own-2`), 20_000);
    expect(onC.log()).not.toMatch(/spoofed-ip|spoofed-mac/);
  }, 120_000);

  it('DHCP from the network\'s own server passes: udhcpc on a protected port gets its lease', async () => {
    const hook = path.join(dir, 'udhcpc-hook.sh');
    await writeFile(hook, HOOK);
    await chmod(hook, 0o755);
    const r = await execa('ip', ['netns', 'exec', wl.d(), 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '5', '-T', '3', '-s', hook],
      { reject: false, all: true });
    const s = await rpc(client!, client!.getStatus, {});
    const d = s.attachments.find((x) => x.name === 'd');
    // Its IPv4 source (the reservation the agent made for its MAC; the rest is link-local IPv6).
    const v4 = (d?.portSecurity?.allowedAddresses ?? []).filter((x) => /^[\d.]+(\/32)?$/.test(x));
    expect(v4, JSON.stringify(d)).toHaveLength(1);
    const ip = v4[0]!.replace(/\/32$/, '');
    // A drop here shows in policy-in-d (e.g. an OFFER whose IP source is not the server address).
    const dropped = await nftCounter(host(), 'inet', 'policy-in-d');
    expect(r.all, `udhcpc exit ${r.exitCode}; policy-in-d dropped ${dropped} packet(s)`).toContain(`udhcpc-bound ip=${ip} serverid=10.77.9.2`);
    expect(await nftCounter(host(), 'bridge', 'spoof-d')).toBe(0);
  }, 120_000);

  it('with bridge conntrack active in the agent\'s namespace (another tool\'s bridge table using ct), the policy still holds', async () => {
    // nf_conntrack_bridge registers its hooks only once a bridge-family rule uses ct: as
    // another tool on a hypervisor might. Then bridged packets are tracked at the bridge too.
    await execa('ip', ['netns', 'exec', host(), 'nft', '-f', '-'], {
      input: 'table bridge psd-other {\n chain pre {\n  type filter hook prerouting priority 0; policy accept;\n  ct state new counter\n }\n}\n',
    });
    expect(await tcpRequest(wl.c(), A, 8080, 'bridge-ct-8080', 30)).toEqual({ answer: 'echo bridge-ct-8080' });
    const other = (await execa('ip', ['netns', 'exec', host(), 'nft', 'list', 'table', 'bridge', 'psd-other'])).stdout;
    expect(other, 'the other table saw the new flow').toMatch(/ct state new counter packets [1-9]/);
    const inBefore = await nftCounter(host(), 'inet', 'policy-in-a');
    expect(await tcpRequest(wl.c(), A, 9090, 'bridge-ct-9090', 3)).toEqual({ timedOut: true });
    await countedAbove('inet', 'policy-in-a', inBefore);
    const outBefore = await nftCounter(host(), 'inet', 'policy-out-a');
    await udpSend(wl.a(), A, C, 7000, 'bridge-ct-from-a');
    await countedAbove('inet', 'policy-out-a', outBefore);
    expect(onA.log()).not.toContain('bridge-ct-9090');
    expect(onC.log()).not.toContain('bridge-ct-from-a');
    expect(await securityApplied()).toBe(true);
  }, 120_000);

  it('kill -9 and restart: the denied path stays denied throughout, the allowed one works after', async () => {
    const probeDenied = async (tag: string): Promise<number> => {
      const before = await nftCounter(host(), 'inet', 'policy-in-a');
      expect(await tcpRequest(wl.c(), A, 9090, tag, 3), tag).toEqual({ timedOut: true });
      return countedAbove('inet', 'policy-in-a', before);
    };
    await probeDenied('kill-before');
    process.kill(agent!.pid, 'SIGKILL');
    await agent!.child;
    const whileDead = await probeDenied('kill-dead');
    await start(); // its first pass replaces both tables whole (counters seeded from the old ones)
    await eventually('SecurityApplied True after restart', securityApplied, 60_000);
    expect(await nftCounter(host(), 'inet', 'policy-in-a')).toBeGreaterThanOrEqual(whileDead);
    await probeDenied('kill-after');
    expect(await tcpRequest(wl.c(), A, 8080, 'restarted-ok', 30)).toEqual({ answer: 'echo restarted-ok' });
    expect(onA.log()).not.toMatch(/kill-(before|dead|after)/);
    // The full replacement touched only the agent's own tables.
    expect((await execa('ip', ['netns', 'exec', host(), 'nft', 'list', 'tables'])).stdout).toContain('table bridge psd-other');
  }, 240_000);
});
