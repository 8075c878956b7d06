// The real hostnet-agent with --metrics-address: a network with DHCP and an attachment
// applied through gRPC, a lease taken by busybox udhcpc in a workload namespace, then the
// scrape checked by promtool, by its figures against what happened, and by a real Prometheus
// server (Debian's) that scrapes the agent and answers queries. The agent runs in the root
// namespace (it programs the test namespace with --netns), so the agent, Prometheus and the
// test talk over 127.0.0.1 only. Finally the bridge is deleted by hand: the DHCP server is
// restarted and no DHCP counter goes down.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { bridgeNameOf } from '../../agent/naming.js';
import { agentClient, buildDist, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, state, veth, type StateJson } from '../lib/agent-state.js';
import { DhcpClientRun } from '../lib/dhcp-clients.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(2, 'all', 'agmet');
const host = (): string => ns[0]!;
const work = (): string => ns[1]!;

let dir: string;
let agent: AgentProcess | null = null;
let client: NodeAgentClient | null = null;
let metricsUrl = '';
let prometheus: ResultPromise | null = null;
const clients: DhcpClientRun[] = [];

const desired = (): StateJson => ({
  generation: 1,
  networks: [{
    name: 'lan', ipFamily: 'IPV4', cidr: '10.79.5.0/24', gateway: '10.79.5.1', gatewayOnBridge: true,
    dhcp: { enabled: true, serverAddress: '10.79.5.2', pools: [{ start: '10.79.5.100', end: '10.79.5.150' }], leaseSeconds: 600 },
  }],
  // No address of its own: the guest's DHCP client takes one from the pool.
  attachments: [veth('pod-a', 'lan', 'hv-meta', work(), 'net1')],
});

/** `series -> value` of a Prometheus text exposition (comments left out). */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(): Promise<{ text: string; series: Map<string, number> }> {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, series: parseExposition(text) };
}

/** Sum of every series of `name` whose labels include all of `labels`. */
function total(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, v] of series) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, val]) => key.includes(`${k}="${val}"`))) sum += v;
  }
  return sum;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-e2e-metrics-'));
  agent = await startAgent({
    netns: host(), socket: path.join(dir, 'run', 'agent.sock'), stateDir: path.join(dir, 'state'),
    extraArgs: ['--metrics-address', '127.0.0.1:0'],
  });
  const m = /"port":(\d+),"msg":"serving metrics"/.exec(agent.logs());
  if (!m) throw new Error(`no "serving metrics" line in the agent's log:\n${agent.logs().slice(-2000)}`);
  metricsUrl = `http://127.0.0.1:${m[1]}/metrics`;
  client = agentClient(agent.socket);
});

afterAll(async () => {
  if (prometheus) {
    prometheus.kill('SIGTERM');
    await prometheus.catch(() => undefined);
  }
  for (const c of clients.splice(0)) await c.stop().catch(() => undefined);
  client?.close();
  if (agent) await agent.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function lease(): Promise<string> {
  const c = await DhcpClientRun.start('udhcpc', work(), 'net1');
  clients.push(c);
  return (await c.waitLease()).ip;
}

async function dhcpServing(): Promise<boolean> {
  const s = await rpc(client!, client!.getStatus, {});
  return s.networks.find((n) => n.name === 'lan')?.conditions.find((c) => c.type === 'DhcpServing')?.status === ConditionStatus.CONDITION_STATUS_TRUE;
}

describe('hostnet-agent --metrics-address', () => {
  it('serves metrics that promtool accepts and that count what happened', async () => {
    await rpc(client!, client!.apply, { state: state(desired()), dryRun: false });
    await eventually('DhcpServing True', () => dhcpServing());
    const ip = await lease();
    expect(ip).toMatch(/^10\.79\.5\.(1[0-4]\d|150)$/);

    const { text, series } = await eventually('the ACK counted', async () => {
      const s = await scrape();
      return total(s.series, 'hostnet_dhcp_packets_sent_total', { network: 'lan', type: 'ack' }) >= 1 ? s : undefined;
    });
    const check = await execa('promtool', ['check', 'metrics'], { input: text, reject: false, all: true });
    expect(check.all).toBe('');
    expect(check.exitCode).toBe(0);

    expect(total(series, 'hostnet_dhcp_packets_received_total', { network: 'lan', type: 'discover' })).toBeGreaterThanOrEqual(1);
    expect(total(series, 'hostnet_dhcp_packets_received_total', { network: 'lan', type: 'request' })).toBeGreaterThanOrEqual(1);
    expect(total(series, 'hostnet_dhcp_packets_sent_total', { network: 'lan', type: 'offer' })).toBeGreaterThanOrEqual(1);
    expect(series.get('hostnet_dhcp_leases{network="lan",state="bound"}')).toBe(1);
    expect(series.get('hostnet_dhcp_server_up{network="lan"}')).toBe(1);
    expect(series.get('hostnet_dhcp_server_starts_total{network="lan"}')).toBe(1);
    // .100 to .150, nothing reserved or excluded in it; the client's address is the one in use.
    expect(series.get('hostnet_dhcp_pool_addresses{network="lan"}')).toBe(51);
    expect(series.get('hostnet_dhcp_pool_used_addresses{network="lan"}')).toBe(1);

    expect(total(series, 'hostnet_reconcile_pass_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(total(series, 'hostnet_reconcile_actions_applied_total')).toBeGreaterThan(0);
    expect(series.get('hostnet_resources{kind="network",condition="Ready",status="True"}')).toBe(1);
    expect(series.get('hostnet_resources{kind="network",condition="Ready",status="False"}')).toBe(0);
    expect(series.get('hostnet_resources{kind="attachment",condition="Ready",status="True"}')).toBe(1);
    expect(series.get('hostnet_resources{kind="network",condition="DhcpServing",status="True"}')).toBe(1);
    expect(series.get('hostnet_desired_generation')).toBe(1);
    expect(series.get('hostnet_observed_generation')).toBe(1);
    // No label that grows with clients.
    expect(text).not.toContain(ip);
    expect(text).not.toMatch(/mac="|ip="/);
  });

  it('a real Prometheus server scrapes the agent and answers queries about it', async () => {
    const port = await freePort();
    const promDir = path.join(dir, 'prometheus');
    const target = new URL(metricsUrl).host;
    await rm(promDir, { recursive: true, force: true });
    await execa('mkdir', ['-p', path.join(promDir, 'data')]);
    await writeFile(path.join(promDir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      'scrape_configs:', '  - job_name: hostnet', '    static_configs:', `      - targets: ['${target}']`, '',
    ].join('\n'));
    prometheus = execa('prometheus', [
      `--config.file=${path.join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { reject: false, all: true, buffer: true });
    const api = `http://127.0.0.1:${port}`;
    await eventually('Prometheus ready', async () => (await fetch(`${api}/-/ready`)).ok, 30_000);

    /** One instant query; the values of its vector result. */
    const query = async (q: string): Promise<number[]> => {
      const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
      expect(body.status).toBe('success');
      return body.data.result.map((r) => Number(r.value[1]));
    };
    const up = await eventually('the agent scraped', async () => ((await query('up{job="hostnet"}'))[0] === 1 ? 1 : undefined), 30_000);
    expect(up).toBe(1);
    const acks = await query('hostnet_dhcp_packets_sent_total{job="hostnet",network="lan",type="ack"} > 0');
    expect(acks).toHaveLength(1);
    expect(acks[0]).toBeGreaterThanOrEqual(1);
    const passes = await query('sum(hostnet_reconcile_pass_duration_seconds_count{job="hostnet"})');
    expect(passes[0]).toBeGreaterThanOrEqual(2);
    expect(await query('hostnet_dhcp_leases{job="hostnet",network="lan",state="bound"}')).toEqual([1]);
    expect(await query('hostnet_resources{job="hostnet",kind="attachment",condition="Ready",status="True"}')).toEqual([1]);

    prometheus.kill('SIGTERM');
    await prometheus;
    prometheus = null;
  });

  it('a bridge deleted by hand restarts the DHCP server, and no DHCP counter goes down', async () => {
    const before = (await scrape()).series;
    const bridge = bridgeNameOf(state(desired()).networks[0]!);
    await execa('ip', ['-n', host(), 'link', 'del', bridge]);
    const after = await eventually('the DHCP server restarted', async () => {
      const s = (await scrape()).series;
      return s.get('hostnet_dhcp_server_starts_total{network="lan"}') === 2 && s.get('hostnet_dhcp_server_up{network="lan"}') === 1 ? s : undefined;
    }, 20_000);
    const counters = [...before].filter(([k]) => k.startsWith('hostnet_dhcp_') && k.split('{')[0]!.endsWith('_total'));
    expect(counters.length).toBeGreaterThanOrEqual(4);
    for (const [series, value] of counters) expect(after.get(series), series).toBeGreaterThanOrEqual(value);

    // The new instance counts on top of the old one's.
    for (const c of clients.splice(0)) await c.stop().catch(() => undefined);
    await eventually('DhcpServing True', () => dhcpServing());
    await lease();
    const again = (await scrape()).series;
    const discovers = 'hostnet_dhcp_packets_received_total{network="lan",type="discover"}';
    expect(again.get(discovers)).toBeGreaterThan(before.get(discovers)!);
  });
});
