// The agent demo: a sandbox host made of network namespaces runs the real hostnet-agent; an
// example desired state (one network with DHCP, two pod attachments, one VM attachment) is
// applied through hostnetctl; the agent puts the pods' addresses and routes inside them (no
// DHCP client in the pods; the VM's guest would get its address from the agent's DHCP server),
// and they ping the gateway; hostnetctl shows networks, attachments, leases and IP usage. Everything
// lives in the sandbox namespaces and is removed at the end.
//   node dist/agent/demo/sandbox.js [--keep]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../..');
const agentJs = path.join(root, 'dist/agent/main.js');
const ctlJs = path.join(root, 'dist/agent/cli/main.js');
const prefix = `hndemo-${process.pid}`;
const ns = { host: `${prefix}-host`, podA: `${prefix}-pod-a`, podB: `${prefix}-pod-b` };
const keep = process.argv.includes('--keep');
const dir = mkdtempSync(path.join(tmpdir(), 'hndemo-'));
const socket = path.join(dir, 'agent.sock');

const step = (text: string): void => console.log(`\n== ${text}`);
const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const ctl = (...args: string[]): string => run(process.execPath, [ctlJs, '--socket', socket, ...args]);

const state = `# hostnet desired state (the proto's JSON mapping, as YAML)
generation: 1
networks:
  - name: web
    mtu: 1500
    ipFamily: IPV4
    cidr: 192.168.10.0/24
    gateway: 192.168.10.1
    gatewayOnBridge: true
    dhcp:
      enabled: true
      pools: [{ start: 192.168.10.50, end: 192.168.10.200 }]
      dnsServers: [192.168.10.1]
      searchDomains: [web.example]
      routes: [{ destination: 10.10.0.0/16, via: 192.168.10.1 }]
      leaseSeconds: 3600
attachments:
  - { name: vm1-nic0, network: web, tap: { ifName: tap-vm1 }, mac: "52:54:00:00:00:01", ip: { auto: {} } }
  - { name: pod-a-net1, network: web, veth: { ifName: hv-poda, peerNetns: /var/run/netns/${ns.podA}, peerIfName: net1 }, ip: { auto: {} } }
  - { name: pod-b-net1, network: web, veth: { ifName: hv-podb, peerNetns: /var/run/netns/${ns.podB}, peerIfName: net1 }, ip: { static: 192.168.10.72 } }
`;

async function startAgent(): Promise<ChildProcess> {
  const agent = spawn(process.execPath, [
    agentJs, '--netns', ns.host, '--socket', socket, '--state-dir', path.join(dir, 'state'),
    '--config', '/dev/null', '--log-level', 'info',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  agent.stdout?.on('data', (c: Buffer) => (log += c.toString()));
  agent.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  for (let i = 0; i < 400 && !log.includes('"converged after start"'); i++) {
    if (agent.exitCode !== null) throw new Error(`hostnet-agent exited: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!log.includes('"converged after start"')) throw new Error(`hostnet-agent not ready after 20 s: ${log}`);
  return agent;
}

/** Polls GetStatus (through hostnetctl) until `count` networks or attachments are Ready. */
async function waitReady(kind: 'networks' | 'attachments', count: number): Promise<void> {
  type Row = { conditions?: { type: string; status: string }[] };
  for (let i = 0; i < 50; i++) {
    const status = JSON.parse(ctl('get', kind, '-o', 'json')) as Partial<Record<typeof kind, Row[]>>;
    const ready = (status[kind] ?? []).filter((r) => r.conditions?.some((c) => c.type === 'Ready' && /TRUE/.test(c.status)));
    if (ready.length >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`(not all ${kind} Ready after 10 s; see hostnetctl describe)`);
}

async function main(): Promise<void> {
  step(`sandbox: host namespace ${ns.host}, pods ${ns.podA} and ${ns.podB}`);
  for (const name of Object.values(ns)) run('ip', ['netns', 'add', name]);
  const agent = await startAgent();
  try {
    console.log(`hostnet-agent pid ${agent.pid} on ${socket}`);
    step('hostnetctl apply -f state.yaml');
    writeFileSync(path.join(dir, 'state.yaml'), state);
    console.log(state.trimEnd());
    console.log(ctl('apply', '-f', path.join(dir, 'state.yaml')).trimEnd());
    await waitReady('networks', 1);

    await waitReady('attachments', 2);
    step('inside the pods: the agent put their addresses and routes there (no DHCP client runs in them)');
    for (const pod of [ns.podA, ns.podB]) {
      console.log(`${pod}:\n${run('ip', ['-n', pod, '-br', '-4', 'addr', 'show', 'net1']).trimEnd()}\n${run('ip', ['-n', pod, 'route']).trimEnd()}`);
    }
    step(`ping the gateway from ${ns.podA}`);
    console.log(run('ip', ['netns', 'exec', ns.podA, 'ping', '-c', '2', '-W', '2', '192.168.10.1']).trim());

    step('hostnetctl get networks');
    console.log(ctl('get', 'networks').trimEnd());
    step('hostnetctl get attachments');
    console.log(ctl('get', 'attachments').trimEnd());
    step('hostnetctl describe attachment vm1-nic0 (its TAP waits for a VM to open it: no carrier yet)');
    console.log(ctl('describe', 'attachment', 'vm1-nic0').trimEnd());
    step('hostnetctl get leases');
    console.log(ctl('get', 'leases').trimEnd());
    step('hostnetctl get ips');
    console.log(ctl('get', 'ips').trimEnd());
    step(`what the kernel shows in ${ns.host}`);
    console.log(run('ip', ['-n', ns.host, '-br', 'link']).trimEnd());

    step('drift repair: delete the network\'s bridge by hand, the agent puts it back');
    const bridge = (JSON.parse(run('ip', ['-n', ns.host, '-j', '-d', 'link', 'show', 'type', 'bridge'])) as { ifname: string }[])[0]?.ifname;
    if (bridge) {
      run('ip', ['-n', ns.host, 'link', 'del', bridge]);
      await new Promise((r) => setTimeout(r, 500));
      console.log(run('ip', ['-n', ns.host, '-br', 'link', 'show', 'type', 'bridge']).trimEnd() || `${bridge} not back yet`);
    }
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    if (keep) {
      console.log(`\n--keep: namespaces left in place; remove with: ${Object.values(ns).map((n) => `ip netns del ${n}`).join('; ')}`);
    } else {
      for (const name of Object.values(ns)) execFileSync('sh', ['-c', `ip netns del ${name} 2>/dev/null || true`]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  if (!keep) for (const name of Object.values(ns)) execFileSync('sh', ['-c', `ip netns del ${name} 2>/dev/null || true`]);
  process.exitCode = 1;
});
