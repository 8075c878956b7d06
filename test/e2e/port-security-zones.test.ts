// Two tenants' networks with the same CIDR on one host, each with a client and a server at the
// same addresses. Tenant A's server allows UDP 5000 from anywhere; tenant B's server allows
// nothing. With one shared conntrack table, B's client sending the very tuple of A's
// established flow would pass as "established" into B's server (an isolation breach); each
// overlapping network has its own conntrack zone, so there it is a new flow and B's policy
// drops it. Witnesses: what B's server receives, `conntrack -L` (zone=), B's policy counter.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist, hostnetctl, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = '10.74.0.10';
const SERVER = '10.74.0.11';
const SPORT = 40123;

beforeAll(buildDist);

describe('port security on networks with the same CIDR', () => {
  const ns = useNetns(5, 'all', 'pszone');
  const host = (): string => ns[0]!;
  const a1 = (): string => ns[1]!;
  const a2 = (): string => ns[2]!;
  const b1 = (): string => ns[3]!;
  const b2 = (): string => ns[4]!;
  let dir: string;
  let agent: AgentProcess | null = null;
  const procs: ResultPromise[] = [];

  const net = (name: string) => ({ name, ipFamily: 'IPV4', cidr: '10.74.0.0/24' });
  const ps = (groups: string[]) => ({ portSecurity: { enabled: true, securityGroups: groups } });

  /** A UDP listener in `netns` on SERVER:5000 that prints every datagram it gets, and echoes it. */
  function udpServer(netns: string): { got: () => string[] } {
    const code = `import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("${SERVER}",5000)); print("ready",flush=True)
while True:
    d,a=s.recvfrom(2048); print(d.decode(),flush=True); s.sendto(d,a)`;
    const p = execa('ip', ['netns', 'exec', netns, PYTHON, '-u', '-c', code], { reject: false, buffer: false });
    procs.push(p);
    const lines: string[] = [];
    p.stdout?.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter((l) => l && l !== 'ready')));
    return { got: () => lines };
  }

  /** Sends `text` from CLIENT:SPORT to SERVER:5000 in `netns`; the reply, if one comes within 1 s. */
  async function send(netns: string, text: string): Promise<string | null> {
    const code = `import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("${CLIENT}",${SPORT})); s.settimeout(1); s.sendto(b"${text}",("${SERVER}",5000))
try: print(s.recv(2048).decode())
except Exception: print("")`;
    const r = await execa('ip', ['netns', 'exec', netns, PYTHON, '-c', code]);
    return r.stdout.trim() || null;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hostnet-e2e-pszone-'));
    agent = await startAgent({ netns: host(), socket: path.join(dir, 'agent.sock'), stateDir: path.join(dir, 'state') });
    const state = {
      generation: 1,
      networks: [net('ta'), net('tb')],
      securityGroups: [
        { name: 'out', rules: [{ direction: 'EGRESS', protocol: 'ANY' }] },
        { name: 'udp5000', rules: [{ direction: 'INGRESS', protocol: 'UDP', fromPort: 5000 }, { direction: 'EGRESS', protocol: 'ANY' }] },
      ],
      attachments: [
        veth('a1', 'ta', 'hv-za1', a1(), 'eth0', { ip: { static: CLIENT }, ...ps(['out']) }),
        veth('a2', 'ta', 'hv-za2', a2(), 'eth0', { ip: { static: SERVER }, ...ps(['udp5000']) }),
        veth('b1', 'tb', 'hv-zb1', b1(), 'eth0', { ip: { static: CLIENT }, ...ps(['out']) }),
        veth('b2', 'tb', 'hv-zb2', b2(), 'eth0', { ip: { static: SERVER }, ...ps(['out']) }),
      ],
    };
    const file = path.join(dir, 'state.json');
    await writeFile(file, JSON.stringify(state));
    const r = await hostnetctl(agent.socket, ['apply', '-f', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const [n, ip] of [[a1(), CLIENT], [a2(), SERVER], [b1(), CLIENT], [b2(), SERVER]] as const) {
      await execa('ip', ['-n', n, 'addr', 'replace', `${ip}/24`, 'dev', 'eth0']);
    }
  });

  afterAll(async () => {
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    if (agent) await agent.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the same tuple established in tenant A is a new flow in tenant B, and B\'s policy drops it', async () => {
    const sa = udpServer(a2());
    const sb = udpServer(b2());
    await eventually('tenant A: the client gets its echo', async () => (await send(a1(), 'a-hello')) === 'a-hello', 15_000);
    const flows = (await execa('ip', ['netns', 'exec', host(), 'conntrack', '-L'])).stdout;
    expect(flows).toMatch(new RegExp(`src=${CLIENT} dst=${SERVER} sport=${SPORT} dport=5000 src=${SERVER} dst=${CLIENT} sport=5000 dport=${SPORT}`));
    // The same tuple from tenant B's client, while A's flow is established.
    for (let i = 0; i < 3; i++) expect(await send(b1(), `b-${i}`)).toBeNull();
    expect(sb.got()).toEqual([]);
    expect(sa.got().filter((l) => l.startsWith('b-'))).toEqual([]);
    // Tracked apart: B's attempt is in another zone (and never confirmed: dropped), A's in the default one.
    const after = (await execa('ip', ['netns', 'exec', host(), 'conntrack', '-L'])).stdout;
    const a = after.split('\n').filter((l) => l.includes(`sport=${SPORT} dport=5000`));
    expect(a).toHaveLength(1);
    expect(a[0]).not.toMatch(/zone=/);
    const counter = JSON.parse((await execa('ip', ['netns', 'exec', host(), 'nft', '-j', 'list', 'counter', 'inet', 'hostnet', 'policy-in-b2'])).stdout) as { nftables: Array<{ counter?: { packets: number } }> };
    expect(counter.nftables.find((i) => i.counter)!.counter!.packets).toBeGreaterThanOrEqual(3);
  });

  it('the second network\'s bridge has its own zone in the ruleset; the first stays in the default zone', async () => {
    const text = (await execa('ip', ['netns', 'exec', host(), 'nft', 'list', 'chain', 'inet', 'hostnet', 'prerouting'])).stdout;
    expect(text).toMatch(/iifname "hn-tb" ct zone set 1/);
    expect(text).not.toMatch(/hn-ta/);
  });
});
