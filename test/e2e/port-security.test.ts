// Port security policy (issue 9) with the real hostnet-agent and real traffic between workload
// namespaces: the issue's YAML as written, default deny, every rule field (TCP range and single
// port, UDP, ICMP, ICMPv6, a protocol number, remote CIDR, remote group), statefulness in both
// directions, a rule change reaching running workloads without breaking an established
// connection, remote-group membership changes (a DHCP-learned address included), routed
// traffic between two networks, an operator's own nftables tables left alone, and what
// hostnetctl shows. One agent, successive desired states. Witnesses: connects, pings and raw
// packets between namespaces (python sockets, ping), and nft inside the agent's namespace.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { NETNS_RUN_DIR } from '../../dataplane/netns-path.js';
import { agentClient, buildDist, hostnetctl, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually } from '../lib/agent-state.js';
import { DhcpClientRun } from '../lib/dhcp-clients.js';
import { useNetns } from '../lib/netns.js';
import { inNetns, nft, nftCounters, nftJson, nftSetElements, nftTables, ping, PyShell, py } from '../lib/port-security.js';
import { ISSUE9_PORT_SECURITY, ISSUE9_WEB_GROUP } from '../lib/issue-security.js';

// Namespaces: the agent's, then one per workload.
const WORKLOADS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
type W = (typeof WORKLOADS)[number];
const ns = useNetns(1 + WORKLOADS.length, 'all', 'ps');
const host = (): string => ns[0]!;
const nsOf = (w: W): string => ns[1 + WORKLOADS.indexOf(w)]!;

// a: the issue's attachment (group web); b: protected, no groups; c, d: unprotected; e: only
// EGRESS rules (group client); f: only INGRESS rules, one per rule field (group fields);
// g: protected, its address from DHCP (group web); h: protected, on the second network.
const IP: Record<Exclude<W, 'g'>, string> = {
  a: '10.70.0.10', b: '10.70.0.11', c: '10.70.0.12', d: '10.70.0.13', e: '10.70.0.14', f: '10.70.0.15', h: '10.71.0.10',
};
const IP6 = { c: 'fd70::12', f: 'fd70::15' };
const GW = { n: '10.70.0.1', m: '10.71.0.1' };
const TCP_PORTS = [80, 2222, 2223, 7000, 8000, 8005, 8010, 8011, 8080, 9000, 9100];
const UDP_PORTS = [5353, 5354];
const OK = 3; // seconds a probe that must pass may take
const NO = 1; // seconds after which a dropped probe counts as refused

let dir: string;
let socket: string;
let agent: AgentProcess | null = null;
let client: NodeAgentClient | null = null;
let generation = 0;
const shells = new Map<W, PyShell>();
const dhcpClients: DhcpClientRun[] = [];

const sh = (w: W): PyShell => shells.get(w)!;
const tcp = (from: W, to: string, port: number, timeout: number): Promise<string> => sh(from).eval<string>(`tcp_probe(${py(to)}, ${port}, ${timeout})`);
const pingW = (from: W, to: string): Promise<boolean> => ping(nsOf(from), to);
const udp = (from: W, to: string, port: number, timeout: number): Promise<string> => sh(from).eval<string>(`udp_probe(${py(to)}, ${port}, ${timeout})`);

/** The answer an echo server in `w` gives to a probe. */
const echo = (w: W): string => `${w}:probe`;

interface Knobs {
  /** Rules added to group fields (the rule-change test). */
  fieldsExtra?: Record<string, unknown>[];
  /** Groups of e besides client (the membership test). */
  eExtraGroups?: string[];
  /** Rules added to group routed. */
  routedExtra?: Record<string, unknown>[];
  /** Port security off everywhere. */
  off?: boolean;
}

/** The desired state as YAML: the issue's group and attachment verbatim, the rest as flow mappings. */
function desiredYaml(k: Knobs): string {
  const j = (o: unknown): string => JSON.stringify(o);
  const protect = (groups: string[], pairs: Record<string, unknown>[] = []): Record<string, unknown> => (k.off
    ? {} : { portSecurity: { enabled: true, securityGroups: groups, ...(pairs.length ? { allowedAddressPairs: pairs } : {}) } });
  const veth = (w: W, network: string, ip: Record<string, unknown>, extra: Record<string, unknown>): string => j({
    name: w, network, veth: { ifName: `hv-${w}`, peerNetns: `${NETNS_RUN_DIR}/${nsOf(w)}`, peerIfName: 'eth0' }, ip, ...extra,
  });
  const networks = [
    {
      name: 'n', ipFamily: 'IPV4', cidr: '10.70.0.0/24', gateway: GW.n, gatewayOnBridge: true,
      dhcp: { enabled: true, serverAddress: '10.70.0.2', pools: [{ start: '10.70.0.100', end: '10.70.0.150' }], leaseSeconds: 600 },
    },
    { name: 'm', ipFamily: 'IPV4', cidr: '10.71.0.0/24', gateway: GW.m, gatewayOnBridge: true },
  ];
  const groups = [
    {
      name: 'client',
      rules: [{ direction: 'EGRESS', protocol: 'TCP' }, { direction: 'EGRESS', protocol: 'ICMP' }],
    },
    {
      name: 'fields',
      rules: [
        { direction: 'INGRESS', protocol: 'TCP', fromPort: 8000, toPort: 8010 },
        { direction: 'INGRESS', protocol: 'TCP', fromPort: 2222 },
        { direction: 'INGRESS', protocol: 'UDP', fromPort: 5353, toPort: 5353 },
        { direction: 'INGRESS', protocol: 'ICMP' },
        { direction: 'INGRESS', protocol: '253' },
        { direction: 'INGRESS', protocol: 'TCP', fromPort: 9000, toPort: 9000, remoteCidr: `${IP.c}/32` },
        { direction: 'INGRESS', protocol: 'TCP', fromPort: 9100, toPort: 9100, remoteGroup: 'web' },
        ...(k.fieldsExtra ?? []),
      ],
    },
    { name: 'routed', rules: [{ direction: 'EGRESS', protocol: 'ANY' }, ...(k.routedExtra ?? [])] },
  ];
  const aSecurity = k.off ? '' : `\n${ISSUE9_PORT_SECURITY}`;
  return `generation: ${++generation}
networks:
${networks.map((n) => `  - ${j(n)}`).join('\n')}
securityGroups:
${ISSUE9_WEB_GROUP}
${groups.map((g) => `  - ${j(g)}`).join('\n')}
attachments:
  - name: a
    network: n
    veth: { ifName: hv-a, peerNetns: ${NETNS_RUN_DIR}/${nsOf('a')}, peerIfName: eth0 }
    ip: { static: 10.70.0.10 }${aSecurity}
  - ${veth('b', 'n', { static: IP.b }, protect([]))}
  - ${veth('c', 'n', { static: IP.c }, {})}
  - ${veth('d', 'n', { static: IP.d }, {})}
  - ${veth('e', 'n', { static: IP.e }, protect(['client', ...(k.eExtraGroups ?? [])]))}
  - ${veth('f', 'n', { static: IP.f }, protect(['fields'], [{ ip: IP6.f }]))}
  - ${veth('g', 'n', { none: {} }, protect(['web']))}
  - ${veth('h', 'm', { static: IP.h }, protect(['routed']))}
`;
}

async function apply(k: Knobs = {}): Promise<void> {
  const file = path.join(dir, `state-${generation + 1}.yaml`);
  await writeFile(file, desiredYaml(k));
  const r = await hostnetctl(socket, ['apply', '-f', file]);
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
}

async function securityApplied(): Promise<Record<string, string>> {
  const s = await rpc(client!, client!.getStatus, {});
  const out: Record<string, string> = {};
  for (const a of s.attachments) {
    const c = a.conditions.find((x) => x.type === 'SecurityApplied');
    if (c) out[a.name] = `${c.status === ConditionStatus.CONDITION_STATUS_TRUE ? 'True' : 'False'}/${c.reason}`;
  }
  return out;
}

const OPERATOR_RULESET = `
table inet operator {
  set blocked {
    type ipv4_addr
    elements = { 192.0.2.7 }
  }
  chain opfwd {
    type filter hook forward priority 10; policy accept;
  }
  chain opchain {
    tcp dport 1234 ip saddr @blocked drop
  }
}
table bridge operator {
  chain opchain {
    ether type arp accept
  }
}
`;
const operatorTables = async (): Promise<string> =>
  JSON.stringify([await nftJson(host(), ['list', 'table', 'inet', 'operator']), await nftJson(host(), ['list', 'table', 'bridge', 'operator'])]);
let operatorBefore = '';

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-e2e-ps-'));
  socket = path.join(dir, 'run', 'agent.sock');
  // Someone else's tables, there before the agent: it must never touch them.
  await nft(host(), ['-f', '-'], OPERATOR_RULESET);
  operatorBefore = await operatorTables();
  agent = await startAgent({ netns: host(), socket, stateDir: path.join(dir, 'state') });
  client = agentClient(socket);
  await apply();
  // The agent puts each static address and the default route in the workload; setting them
  // again here (replace: idempotent) keeps the workloads' set-up independent of that.
  for (const w of WORKLOADS) {
    const n = nsOf(w);
    await inNetns(n, ['ip', 'link', 'set', 'eth0', 'up']);
    if (w !== 'g') {
      await inNetns(n, ['ip', 'addr', 'replace', `${IP[w]}/24`, 'dev', 'eth0']);
      await inNetns(n, ['ip', 'route', 'replace', 'default', 'via', w === 'h' ? GW.m : GW.n]);
    }
    if (w === 'c' || w === 'f') await inNetns(n, ['ip', 'addr', 'add', `${IP6[w]}/64`, 'dev', 'eth0', 'nodad']);
    const s = await PyShell.start(n, w);
    shells.set(w, s);
    await s.run([...TCP_PORTS.map((p) => `serve_tcp(${p})`), ...UDP_PORTS.map((p) => `serve_udp(${p})`), 'serve_raw(253)', 'serve_raw(254)'].join('\n'));
  }
}, 60_000);

afterAll(async () => {
  for (const c of dhcpClients) await c.stop().catch(() => undefined);
  for (const s of shells.values()) await s.close().catch(() => undefined);
  client?.close();
  if (agent) await agent.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('port security policy with real traffic', () => {
  it('the issue\'s YAML works as written: group web and attachment a with its address pair', async () => {
    expect(await securityApplied()).toEqual({
      a: 'True/Applied', b: 'True/Applied', e: 'True/Applied', f: 'True/Applied', g: 'True/Applied', h: 'True/Applied',
    });
    expect(await nftTables(host())).toEqual(expect.arrayContaining(['bridge hostnet', 'inet hostnet', 'inet operator', 'bridge operator']));
    expect(await nftSetElements(host(), 'sg-web-v4')).toEqual(expect.arrayContaining([IP.a, '10.70.0.200']));
    // TCP 80 from anywhere, ICMP, EGRESS ANY; nothing else in.
    const [web, other, fromA] = await Promise.all([tcp('c', IP.a, 80, OK), tcp('c', IP.a, 8080, NO), tcp('a', IP.c, 8080, OK)]);
    expect({ web, other, fromA }).toEqual({ web: echo('a'), other: 'timeout', fromA: echo('c') });
    expect(await pingW('c', IP.a)).toBe(true);
    expect(await pingW('a', IP.c)).toBe(true);
  });

  it('an unprotected attachment is unaffected: everything passes between two unprotected ones', async () => {
    const r = await Promise.all([tcp('c', IP.d, 8011, OK), tcp('d', IP.c, 2223, OK), udp('c', IP.d, 5354, OK), udp('d', IP.c, 5354, OK)]);
    expect(r).toEqual([echo('d'), echo('c'), echo('d'), echo('c')]);
    expect(await pingW('c', IP.d)).toBe(true);
    expect(await pingW('d', IP.c)).toBe(true);
    const seen = (await sh('d').eval<[number, string, string][]>('raw_seen')).length;
    await sh('c').run(`send_raw(${py(IP.d)}, 254, "unprotected")`);
    await eventually('raw protocol 254 between unprotected workloads', async () =>
      (await sh('d').eval<[number, string, string][]>('raw_seen')).slice(seen).some(([p, , t]) => p === 254 && t === 'unprotected'));
  });

  it('default deny: a protected port with no groups gets nothing in and sends nothing out', async () => {
    const before = await nftCounters(host());
    const r = await Promise.all([tcp('c', IP.b, 80, NO), udp('c', IP.b, 5353, NO), tcp('b', IP.c, 80, NO), udp('b', IP.c, 5353, NO)]);
    expect(r).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(await pingW('c', IP.b)).toBe(false);
    expect(await pingW('b', IP.c)).toBe(false);
    const after = await nftCounters(host());
    expect(after.get('policy-in-b')!).toBeGreaterThan(before.get('policy-in-b')!);
    expect(after.get('policy-out-b')!).toBeGreaterThan(before.get('policy-out-b')!);
    // Nothing of this was spoofing.
    expect(after.get('spoof-b')).toBe(before.get('spoof-b'));
  });

  it('TCP rules: a port range and a single port (inside passes, outside is dropped)', async () => {
    const r = await Promise.all([
      tcp('c', IP.f, 8000, OK), tcp('c', IP.f, 8005, OK), tcp('c', IP.f, 8010, OK), tcp('c', IP.f, 2222, OK),
      tcp('c', IP.f, 8011, NO), tcp('c', IP.f, 80, NO), tcp('c', IP.f, 2223, NO),
    ]);
    expect(r).toEqual([echo('f'), echo('f'), echo('f'), echo('f'), 'timeout', 'timeout', 'timeout']);
  });

  it('a UDP rule: its port passes, another port is dropped', async () => {
    expect(await Promise.all([udp('c', IP.f, 5353, OK), udp('c', IP.f, 5354, NO)])).toEqual([echo('f'), 'timeout']);
  });

  it('an ICMP rule lets ping in; with no EGRESS rule the port cannot ping out', async () => {
    expect(await pingW('c', IP.f)).toBe(true);
    expect(await pingW('f', IP.c)).toBe(false);
  });

  it('a protocol number rule (253): that protocol arrives, another (254) does not', async () => {
    const seen = (await sh('f').eval<unknown[]>('raw_seen')).length;
    await sh('c').run(`send_raw(${py(IP.f)}, 254, "p254")\nsend_raw(${py(IP.f)}, 253, "p253")`);
    // 253 sent after 254 on the same path: once 253 is there, 254 would have been too.
    const got = await eventually('protocol 253 received by f', async () => {
      const all = (await sh('f').eval<[number, string, string][]>('raw_seen')).slice(seen);
      return all.some(([p]) => p === 253) ? all : undefined;
    });
    expect(got.map(([p, src, t]) => `${p} ${src} ${t}`)).toEqual([`253 ${IP.c} p253`]);
  });

  it('a remote CIDR rule: a source inside passes, one outside is dropped', async () => {
    expect(await Promise.all([tcp('c', IP.f, 9000, OK), tcp('d', IP.f, 9000, NO)])).toEqual([echo('f'), 'timeout']);
  });

  it('a remote group rule: a member passes, a non-member is dropped', async () => {
    expect(await Promise.all([tcp('a', IP.f, 9100, OK), tcp('d', IP.f, 9100, NO), tcp('e', IP.f, 9100, NO)])).toEqual([echo('f'), 'timeout', 'timeout']);
  });

  it('stateful: replies pass for an INGRESS-only server and for an EGRESS-only client', async () => {
    // f has no EGRESS rule, yet its answers above came back; its own new flows do not leave.
    expect(await Promise.all([tcp('c', IP.f, 8005, OK), tcp('f', IP.c, 8005, NO)])).toEqual([echo('f'), 'timeout']);
    // e has only EGRESS rules: its connects and pings get answers; nothing new gets in.
    expect(await Promise.all([tcp('e', IP.c, 80, OK), tcp('c', IP.e, 80, NO)])).toEqual([echo('c'), 'timeout']);
    expect(await pingW('e', IP.c)).toBe(true);
    expect(await pingW('c', IP.e)).toBe(false);
  });

  it('a rule change reaches running workloads at once and keeps an established connection that stays allowed', async () => {
    const pid = agent!.pid;
    expect(await sh('c').eval(`conn_open("long", ${py(IP.f)}, 8005)`)).toBe('f:open');
    expect(await pingW('c', IP6.f)).toBe(false); // no ICMPV6 rule yet
    await apply({ fieldsExtra: [{ direction: 'INGRESS', protocol: 'ICMPV6' }] });
    await eventually('ping -6 c -> f allowed by the new ICMPV6 rule', () => pingW('c', IP6.f));
    expect(await sh('c').eval('conn_send("long", "still there")')).toBe('f:still there');
    expect(await operatorTables()).toBe(operatorBefore);
    expect(agent!.pid).toBe(pid);
    // ICMPv6 is no ICMP: v4 pings out of f stay refused, v6 echo requests from f too (no EGRESS).
    expect(await pingW('f', IP6.c)).toBe(false);
  });

  it('remote group membership: a workload added to the group gets in, removed it is dropped again', async () => {
    const fieldsExtra = [{ direction: 'INGRESS', protocol: 'ICMPV6' }];
    expect(await tcp('e', IP.f, 9100, NO)).toBe('timeout');
    await apply({ fieldsExtra, eExtraGroups: ['web'] });
    expect(await nftSetElements(host(), 'sg-web-v4')).toContain(IP.e);
    await eventually('e in web reaches f:9100', async () => (await tcp('e', IP.f, 9100, OK)) === echo('f'));
    await apply({ fieldsExtra });
    expect(await nftSetElements(host(), 'sg-web-v4')).not.toContain(IP.e);
    await eventually('e out of web is dropped at f:9100', async () => (await tcp('e', IP.f, 9100, NO)) === 'timeout');
    expect(await sh('c').eval('conn_send("long", "after membership changes")')).toBe('f:after membership changes');
  });

  it('a DHCP-learned address joins its group: the set holds the lease and a peer allowing the group receives it', async () => {
    const run = await DhcpClientRun.start('udhcpc', nsOf('g'), 'eth0');
    dhcpClients.push(run);
    const lease = await run.waitLease(1, 10_000);
    expect(lease.ip).toMatch(/^10\.70\.0\.(1[0-4]\d|150)$/);
    await eventually(`sg-web-v4 holds g's lease ${lease.ip}`, async () => (await nftSetElements(host(), 'sg-web-v4')).includes(lease.ip));
    await inNetns(nsOf('g'), ['ip', 'route', 'replace', 'default', 'via', GW.n]);
    // f allows TCP 9100 from group web; a allows ANY from group web.
    expect(await Promise.all([tcp('g', IP.f, 9100, OK), tcp('g', IP.a, 8080, OK), tcp('d', IP.a, 8080, NO)])).toEqual([echo('f'), echo('a'), 'timeout']);
  });

  it('two networks: security groups apply to routed traffic (dropped without a rule, passes with one)', async () => {
    await inNetns(host(), ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const fieldsExtra = [{ direction: 'INGRESS', protocol: 'ICMPV6' }];
    // Routing itself works: unprotected c reaches h's gateway, and h (EGRESS ANY) reaches c.
    expect(await pingW('c', GW.m)).toBe(true);
    expect(await tcp('h', IP.c, 80, OK)).toBe(echo('c'));
    expect(await tcp('c', IP.h, 7000, NO)).toBe('timeout');
    await apply({ fieldsExtra, routedExtra: [{ direction: 'INGRESS', protocol: 'TCP', fromPort: 7000, toPort: 7000, remoteCidr: '10.70.0.0/24' }] });
    await eventually('c -> h:7000 across the router', async () => (await tcp('c', IP.h, 7000, OK)) === echo('h'));
    // Still only port 7000, and the source side's policy still counts: b has no EGRESS rule.
    expect(await Promise.all([tcp('c', IP.h, 8080, NO), tcp('e', IP.h, 7000, OK), tcp('b', IP.h, 7000, NO)])).toEqual(['timeout', echo('h'), 'timeout']);
  });

  it('hostnetctl get securitygroups and describe attachment show groups and drop counters', async () => {
    const get = await hostnetctl(socket, ['get', 'securitygroups']);
    expect(get.exitCode, get.stderr).toBe(0);
    expect(get.stdout).toMatch(/NAME\s+RULES\s+MEMBERS/);
    expect(get.stdout).toMatch(/^web\s+4\s+a, g\s*$/m);
    expect(get.stdout).toMatch(/^fields\s+8\s+f\s*$/m);
    const b = await hostnetctl(socket, ['describe', 'attachment', 'b']);
    expect(b.exitCode, b.stderr).toBe(0);
    const drops = /Dropped packets:\s+(\d+) spoofed, (\d+) ingress policy, (\d+) egress policy/.exec(b.stdout);
    expect(drops, b.stdout).not.toBeNull();
    expect(Number(drops![2])).toBeGreaterThan(0);
    expect(Number(drops![3])).toBeGreaterThan(0);
    expect(b.stdout).toMatch(/Groups:\s+-/);
    const f = await hostnetctl(socket, ['describe', 'attachment', 'f']);
    expect(f.stdout).toMatch(/Groups:\s+fields/);
    expect(f.stdout).toMatch(new RegExp(`Allowed addresses:.*${IP.f}.*fd70::15`));
    expect(Number(/(\d+) ingress policy/.exec(f.stdout)?.[1])).toBeGreaterThan(0);
    // The same figures as the kernel's counters (read after: they only grow).
    const counters = await nftCounters(host());
    expect(Number(drops![2])).toBeLessThanOrEqual(counters.get('policy-in-b')!);
  });

  it('another party\'s nftables tables are never touched; with no protected port left the hostnet tables are gone', async () => {
    expect(await operatorTables()).toBe(operatorBefore);
    await apply({ off: true });
    expect(await operatorTables()).toBe(operatorBefore);
    const tables = await nftTables(host());
    expect(tables.filter((t) => t.endsWith(' hostnet'))).toEqual([]);
    expect(tables).toEqual(expect.arrayContaining(['inet operator', 'bridge operator']));
    // Nothing filtered now: b, default-deny before, answers.
    expect(await tcp('c', IP.b, 80, OK)).toBe(echo('b'));
  });
});
