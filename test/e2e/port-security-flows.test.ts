// Flows across security group changes, with the real agent: narrowing a rule ends the flow
// it allowed and no other (the agent deletes exactly the conntrack entries the new rules do
// not allow), turning port security on for a running workload ends what its groups do not
// allow, and the drop counters reach Prometheus. Witnesses: echoes over one TCP connection
// per port (socat), `conntrack -L` in the agent's namespace, the /metrics text.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDist, hostnetctl, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, veth, type StateJson } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

beforeAll(buildDist);

describe('port security and running flows', () => {
  const ns = useNetns(3, 'all', 'psflow');
  const host = (): string => ns[0]!;
  const client = (): string => ns[1]!;
  const server = (): string => ns[2]!;
  let dir: string;
  let agent: AgentProcess | null = null;
  let metricsUrl = '';
  let generation = 0;
  const procs: ResultPromise[] = [];

  const net = { name: 'n', ipFamily: 'IPV4', cidr: '10.72.0.0/24', gateway: '10.72.0.1', gatewayOnBridge: true };
  const cli = { name: 'cli', rules: [{ direction: 'EGRESS', protocol: 'ANY' }] };
  const srv = (ports: [number, number]) => ({ name: 'srv', rules: [{ direction: 'INGRESS', protocol: 'TCP', fromPort: ports[0], toPort: ports[1] }] });
  const attachments = (serverProtected: boolean) => [
    veth('a', 'n', 'hv-fa', client(), 'eth0', { ip: { static: '10.72.0.10' }, mac: '02:72:00:00:00:0a', portSecurity: { enabled: true, securityGroups: ['cli'] } }),
    veth('b', 'n', 'hv-fb', server(), 'eth0', { ip: { static: '10.72.0.11' }, mac: '02:72:00:00:00:0b', ...(serverProtected ? { portSecurity: { enabled: true, securityGroups: ['srv'] } } : {}) }),
  ];
  const apply = async (s: StateJson & { securityGroups: unknown[] }): Promise<void> => {
    const file = path.join(dir, `state-${++generation}.json`);
    await writeFile(file, JSON.stringify({ generation, ...s }));
    const r = await hostnetctl(agent!.socket, ['apply', '-f', file]);
    expect(r.exitCode, r.stderr).toBe(0);
  };

  /**
   * Started in a process group of its own and stopped as a group: socat's forked children and
   * a shell pipeline's members must not outlive the test.
   */
  function spawnGroup(args: string[]): ResultPromise {
    const p = execa('ip', args, { reject: false, buffer: false, detached: true });
    procs.push(p);
    return p;
  }

  function stopGroup(p: ResultPromise): void {
    if (p.pid === undefined) return;
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** A client in `client()` that sends a line every 50 ms over one connection; the lines echoed back, so far. */
  function echoClient(port: number): { echoes: () => number } {
    const p = spawnGroup(['netns', 'exec', client(), 'sh', '-c', `while :; do echo x; sleep 0.05; done | socat - TCP:10.72.0.11:${port}`]);
    let n = 0;
    p.stdout?.on('data', (b: Buffer) => (n += b.toString().split('\n').length - 1));
    return { echoes: () => n };
  }

  async function grows(c: { echoes: () => number }): Promise<boolean> {
    const before = c.echoes();
    await new Promise((r) => setTimeout(r, 600));
    return c.echoes() > before;
  }

  async function flows(): Promise<string> {
    return (await execa('ip', ['netns', 'exec', host(), 'conntrack', '-L'], { reject: false })).stdout;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hostnet-e2e-psflow-'));
    agent = await startAgent({
      netns: host(), socket: path.join(dir, 'agent.sock'), stateDir: path.join(dir, 'state'),
      extraArgs: ['--metrics-address', '127.0.0.1:0'],
    });
    const m = /"port":(\d+),"msg":"serving metrics"/.exec(agent.logs());
    if (!m) throw new Error('no "serving metrics" line in the agent log');
    metricsUrl = `http://127.0.0.1:${m[1]}/metrics`;
    await apply({ networks: [net], attachments: attachments(true), securityGroups: [cli, srv([80, 81])] });
    await execa('ip', ['-n', client(), 'addr', 'replace', '10.72.0.10/24', 'dev', 'eth0']);
    await execa('ip', ['-n', server(), 'addr', 'replace', '10.72.0.11/24', 'dev', 'eth0']);
    for (const port of [80, 81]) spawnGroup(['netns', 'exec', server(), 'socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'EXEC:cat']);
  });

  afterEach(async () => {
    for (const p of procs.splice(2)) stopGroup(p);
  });

  afterAll(async () => {
    for (const p of procs.splice(0)) stopGroup(p);
    if (agent) await agent.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('narrowing a rule ends the flow it allowed; the flow still allowed keeps its connection', async () => {
    const c80 = echoClient(80);
    const c81 = echoClient(81);
    await eventually('both flows echo', async () => (await grows(c80)) && (await grows(c81)));
    expect(await flows()).toMatch(/dport=81 .*ESTABLISHED|ESTABLISHED .*dport=81/);

    await apply({ networks: [net], attachments: attachments(true), securityGroups: [cli, srv([80, 80])] });
    await eventually('the flow to port 81 is gone from conntrack', async () => !/dport=81\b/.test(await flows()));
    expect(await grows(c81)).toBe(false);
    expect(await grows(c80)).toBe(true);
    expect(await flows()).toMatch(/dport=80\b/);
  });

  it('turning port security on for a running workload ends the flows its groups do not allow', async () => {
    await apply({ networks: [net], attachments: attachments(false), securityGroups: [cli, srv([80, 80])] });
    const c81 = echoClient(81);
    await eventually('the unprotected server echoes on 81', () => grows(c81));
    await apply({ networks: [net], attachments: attachments(true), securityGroups: [cli, srv([80, 80])] });
    await eventually('the flow to port 81 is gone', async () => !/dport=81\b/.test(await flows()));
    expect(await grows(c81)).toBe(false);
  });

  it('reports the drop counters as hostnet_port_security_dropped_packets_total', async () => {
    // A spoofed source from the client: dropped at the bridge and counted for attachment a.
    await execa('ip', ['-n', client(), 'addr', 'add', '10.72.0.99/24', 'dev', 'eth0']);
    await execa('ip', ['netns', 'exec', client(), 'ping', '-c', '2', '-W', '1', '-I', '10.72.0.99', '10.72.0.11'], { reject: false });
    const text = await (await fetch(metricsUrl)).text();
    const spoof = /hostnet_port_security_dropped_packets_total\{attachment="a",reason="spoof"\} (\d+)/.exec(text);
    expect(spoof, text.slice(0, 2000)).not.toBeNull();
    expect(Number(spoof![1])).toBeGreaterThan(0);
    const nftCount = JSON.parse((await execa('ip', ['netns', 'exec', host(), 'nft', '-j', 'list', 'counter', 'bridge', 'hostnet', 'spoof-a'])).stdout) as { nftables: Array<{ counter?: { packets: number } }> };
    expect(nftCount.nftables.find((i) => i.counter)!.counter!.packets).toBeGreaterThanOrEqual(Number(spoof![1]));
  });
});
