// One forwarding switch wanted by two owners (issue 13, review finding): a router's external
// interface (uplink0) that is also the device towards the BGP peer, with the real hostnet-agent
// in a namespace that plays the host. The forwarding participant (agent/forwarding) owns both
// wants and one record, so removing the router must not turn uplink0's switch off while the
// peer of a routed network still needs it (the old split turned it off and back on a moment
// later). Witness: a shell in the host namespace reading /proc/sys/net/ipv4/conf/uplink0/
// forwarding in a loop (a builtin read, no process per sample) for the whole removal, printing
// each value it changes to; then `sysctl -n` read several times. Also: an upgrade, a switch the
// old agent recorded in bgp-forwarding.json is turned off by the new one (merged into
// forwarding.json, the old file gone), and the last want gone turns uplink0 back off.
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist, hostnetctl, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(3, 'all', 'h2-fwd');
const host = (): string => ns[0]!;
const internet = (): string => ns[1]!;
const pod = (): string => ns[2]!;
const FRR_PATHSPACE = 'hnh2fwd';
const PEER = '203.0.113.1';
const UPLINK = 'net.ipv4.conf.uplink0.forwarding';
const BRIDGE = 'net.ipv4.conf.hn-br.forwarding';

let dir = '';
let stateDir = '';
let socket = '';
let agent: AgentProcess | null = null;
let generation = 0;

async function apply(opts: { router: boolean; bgp: boolean; routed: boolean }): Promise<void> {
  const s = {
    generation: ++generation,
    ...(opts.bgp ? { node: { bgp: { asn: 65001, routerId: '203.0.113.2', peers: [{ address: PEER, asn: 65000 }] } } } : {}),
    networks: [
      { name: 'br', ipFamily: 'IPV4', cidr: '10.84.3.0/24', gateway: '10.84.3.1', gatewayOnBridge: true },
      ...(opts.routed ? [{ name: 'rt', mode: 'ROUTED', ipFamily: 'IPV4', cidr: '10.84.1.0/24' }] : []),
    ],
    attachments: [veth('wbr', 'br', 'hv-br', pod(), 'eth0', { ip: { static: '10.84.3.10' } })],
    routers: opts.router ? [{ name: 'r1', networks: ['br'], external: { interface: 'uplink0' } }] : [],
  };
  const file = path.join(dir, `state-${generation}.yaml`);
  await writeFile(file, YAML.stringify(s));
  const r = await hostnetctl(socket, ['apply', '-f', file]);
  expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(0);
}

async function sysctl(key: string): Promise<string> {
  return (await execa('ip', ['netns', 'exec', host(), 'sysctl', '-n', key])).stdout.trim();
}
const exists = (f: string): Promise<boolean> => stat(f).then(() => true, () => false);

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-h2-fwd-'));
  socket = path.join(dir, 'run', 'agent.sock');
  stateDir = path.join(dir, 'state');
  await execa('ip', ['-n', host(), 'link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'inet0', 'netns', internet()]);
  await execa('ip', ['-n', host(), 'addr', 'add', '203.0.113.2/24', 'dev', 'uplink0']);
  await execa('ip', ['-n', internet(), 'addr', 'add', `${PEER}/24`, 'dev', 'inet0']);
  await execa('ip', ['-n', host(), 'link', 'set', 'uplink0', 'up']);
  await execa('ip', ['-n', internet(), 'link', 'set', 'inet0', 'up']);
  // An older agent turned uplink0's switch on and recorded it in its own file.
  await execa('ip', ['netns', 'exec', host(), 'sysctl', '-q', '-w', `${UPLINK}=1`]);
  await mkdir(stateDir, { recursive: true });
  await writeFile(path.join(stateDir, 'bgp-forwarding.json'), JSON.stringify({ turnedOn: ['net/ipv4/conf/uplink0/forwarding'] }));
  agent = await startAgent({ netns: host(), socket, stateDir, extraArgs: ['--frr-pathspace', FRR_PATHSPACE, '--frr-supervise', 'false'] });
});

afterAll(async () => {
  if (agent) await agent.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
  // The frr.conf the agent wrote (no daemon ran under that pathspace).
  await rm(path.join('/etc/frr', FRR_PATHSPACE), { recursive: true, force: true });
});

describe('one forwarding switch, two owners (router external interface = BGP peer device)', () => {
  it('an upgraded agent merges the old record and turns off what the old agent turned on', async () => {
    expect(await sysctl(UPLINK)).toBe('0');
    expect(await exists(path.join(stateDir, 'bgp-forwarding.json'))).toBe(false);
    expect(JSON.parse(await readFile(path.join(stateDir, 'forwarding.json'), 'utf8'))).toEqual({ turnedOn: [] });
  });

  it('both want uplink0: on once; the router removed, the switch stays 1 throughout; the last want gone, it goes off', async () => {
    await apply({ router: true, bgp: true, routed: true });
    await eventually('uplink0 and hn-br forward', async () => (await sysctl(UPLINK)) === '1' && (await sysctl(BRIDGE)) === '1', 20_000);
    const record = JSON.parse(await readFile(path.join(stateDir, 'forwarding.json'), 'utf8')) as { turnedOn: string[] };
    expect(record.turnedOn).toEqual(['net/ipv4/conf/hn-br/forwarding', 'net/ipv4/conf/uplink0/forwarding']);

    // The sampler: prints the value at start and each time it changes.
    const sampler = execa('ip', ['netns', 'exec', host(), 'sh', '-c',
      'p=; while :; do read v < /proc/sys/net/ipv4/conf/uplink0/forwarding; if [ "$v" != "$p" ]; then echo "$v"; p=$v; fi; done'], { reject: false });
    let seen = '';
    sampler.stdout?.on('data', (d: Buffer) => { seen += d.toString(); });
    try {
      await eventually('the sampler\'s first value', () => seen.length > 0, 10_000);
      await apply({ router: false, bgp: true, routed: true });
      // The removal pass ran once the bridge's switch (the router's alone) is back off.
      await eventually('hn-br forwarding back off', async () => (await sysctl(BRIDGE)) === '0', 20_000);
      for (let i = 0; i < 5; i++) {
        expect(await sysctl(UPLINK), `read ${i} after the router went`).toBe('1');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      sampler.kill('SIGKILL');
      await sampler;
    }
    expect(seen.trim().split('\n'), 'every value uplink0\'s switch had while the router went').toEqual(['1']);
    expect((JSON.parse(await readFile(path.join(stateDir, 'forwarding.json'), 'utf8')) as { turnedOn: string[] }).turnedOn).toEqual(['net/ipv4/conf/uplink0/forwarding']);

    // No routed network: the peer needs no forwarding any more; hostnet turned it on, so it goes.
    await apply({ router: false, bgp: true, routed: false });
    await eventually('uplink0 forwarding back off', async () => (await sysctl(UPLINK)) === '0', 20_000);
  });
});
