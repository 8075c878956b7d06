// Port security under faults, with the real hostnet-agent: kill -9 and restart while a denied
// path is probed and an allowed TCP flow runs; a failing nft transaction (HOSTNET_NFT wrapper);
// br_netfilter switched off; rules edited or deleted by hand; teardown of protected ports;
// counters across restarts. Witnesses: real traffic between workload namespaces (python
// sockets), `nft -j list` in the agent's namespace, and the agent's SecurityApplied condition.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { ipLink } from '../../dataplane/testing/ip.js';
import { agentClient, buildDist, hostnetctl, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, network, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';
import { canonicalRuleset, chainsOf, counterPackets, nftList, nftRun } from '../lib/nft-ruleset.js';

beforeAll(buildDist);

const PY = '/usr/bin/python3';
const NET = 'lan';
const ip = (host: number): string => `10.77.91.${host}`;
const V_IP = ip(10);
const X_IP = ip(20);
const C_IP = ip(30);
const N_IP = ip(40);
const T_IP = ip(50);
const ECHO_PORT = 7000;
const DENIED_PORT = 9000;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Small python programs run inside workload namespaces; each stops when its stop file appears.
const UDP_COUNTER = `
import socket, sys, os
port, countfile = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', port))
s.settimeout(0.1)
n = 0
open(countfile, 'w').write('0')
while not os.path.exists(countfile + '.stop'):
    try:
        s.recvfrom(2048)
    except socket.timeout:
        continue
    n += 1
    open(countfile + '.tmp', 'w').write(str(n))
    os.rename(countfile + '.tmp', countfile)
`;
const ECHO_SERVER = `
import socket, sys, os, threading
port, ready = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', port))
s.listen(16)
def serve(c):
    try:
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(d)
    except OSError:
        return
open(ready, 'w').write('1')
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`;
/** Sends a datagram every 5 ms until the stop file appears; prints how many it sent. */
const UDP_PROBER = `
import socket, sys, os, time
dst, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
while not os.path.exists(stop):
    try:
        s.sendto(b'probe', (dst, port))
        n += 1
    except OSError:
        pass
    time.sleep(0.005)
print(n)
`;
/** One TCP connection, a message every 5 ms, each echo awaited; prints JSON, exits 1 on a break. */
const ECHO_CLIENT = `
import socket, sys, os, time, json
dst, port, stop, progress = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
n, gap, err = 0, 0.0, None
try:
    s = socket.create_connection((dst, port), timeout=5)
    s.settimeout(60)
    local = s.getsockname()
    last = time.time()
    while not os.path.exists(stop):
        msg = ('%08d' % n).encode() * 4
        s.sendall(msg)
        got = b''
        while len(got) < len(msg):
            d = s.recv(len(msg) - len(got))
            if not d:
                raise EOFError('connection closed by peer')
            got += d
        if got != msg:
            raise ValueError('echo mismatch')
        n += 1
        now = time.time()
        gap = max(gap, now - last)
        last = now
        if n % 20 == 0:
            open(progress + '.tmp', 'w').write(str(n))
            os.rename(progress + '.tmp', progress)
        time.sleep(0.005)
    s.close()
except Exception as e:
    err = repr(e)
print(json.dumps({'echoes': n, 'maxGapMs': round(gap * 1000), 'error': err}))
sys.exit(1 if err else 0)
`;
/** One short TCP exchange: exit 0 when the echo came back within the timeout. */
const TCP_ONCE = `
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
s.settimeout(float(sys.argv[3]))
s.sendall(b'hello')
assert s.recv(5) == b'hello'
`;
/** Sends N datagrams, 10 ms apart (from an optional source address). */
const UDP_BURST = `
import socket, sys, time
dst, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    try:
        s.sendto(b'burst', (dst, port))
    except OSError:
        pass
    time.sleep(0.01)
`;

describe('port security faults', () => {
  // host (the agent's), victim (protected), attacker and client (unprotected), new, teardown.
  const ns = useNetns(6, 'all', 'psf');
  const at = (i: number) => (): string => ns[i]!;
  const H = at(0), V = at(1), X = at(2), C = at(3), N = at(4), T = at(5);
  let dir: string;
  let socket: string;
  let stateDir: string;
  let wrapper: string;
  let flag: string;
  let agent: AgentProcess | null = null;
  let generation = 0;
  const background: ResultPromise[] = [];
  let counterFile: string;

  const agentEnv = (): Record<string, string> => ({ HOSTNET_NFT: wrapper });
  const start = async (): Promise<void> => {
    agent = await startAgent({ netns: H(), socket, stateDir, env: agentEnv() });
  };
  const py = (netns: string, code: string, args: Array<string | number>, opts: { timeout?: number } = {}): ResultPromise =>
    execa('ip', ['netns', 'exec', netns, PY, '-c', code, ...args.map(String)], { reject: false, ...(opts.timeout ? { timeout: opts.timeout } : {}) });

  interface Opts {
    /** Rules of the victim's group "srv" besides TCP 7000 in and anything out. */
    extraRules?: Record<string, unknown>[];
    vProtected?: boolean;
    withN?: boolean;
    withT?: boolean;
  }
  const desired = (o: Opts = {}) => ({
    generation: ++generation,
    networks: [network(NET, 91)],
    securityGroups: [{
      name: 'srv',
      rules: [
        { direction: 'INGRESS', protocol: 'TCP', fromPort: ECHO_PORT, toPort: ECHO_PORT, remoteCidr: '0.0.0.0/0' },
        { direction: 'EGRESS', protocol: 'ANY' },
        ...(o.extraRules ?? []),
      ],
    }],
    attachments: [
      veth('v', NET, 'hv-v', V(), 'eth0', { ip: { static: V_IP }, portSecurity: o.vProtected === false ? { enabled: false } : { enabled: true, securityGroups: ['srv'] } }),
      veth('x', NET, 'hv-x', X(), 'eth0', { ip: { static: X_IP } }),
      veth('c', NET, 'hv-c', C(), 'eth0', { ip: { static: C_IP } }),
      ...(o.withN ? [veth('n', NET, 'hv-n', N(), 'eth0', { ip: { static: N_IP }, portSecurity: { enabled: true, securityGroups: ['srv'] } })] : []),
      ...(o.withT ? [veth('t', NET, 'hv-t', T(), 'eth0', { ip: { static: T_IP }, portSecurity: { enabled: true, securityGroups: ['srv'] } })] : []),
    ],
  });
  const apply = async (o: Opts = {}): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> => {
    const file = path.join(dir, `state-${generation + 1}.json`);
    await writeFile(file, JSON.stringify(desired(o)));
    return hostnetctl(socket, ['apply', '-f', file]);
  };
  const status = async () => {
    const client = agentClient(socket);
    try {
      return await rpc(client, client.getStatus, {});
    } finally {
      client.close();
    }
  };
  const securityApplied = async (att: string) => (await status()).attachments.find((a) => a.name === att)?.conditions.find((c) => c.type === 'SecurityApplied');
  const appliedTrue = async (att: string): Promise<boolean> => (await securityApplied(att))?.status === ConditionStatus.CONDITION_STATUS_TRUE;
  /** The pod's address, put there by the test (the agent does not address workloads). */
  const addressPod = async (netns: string, addr: string): Promise<void> => {
    await eventually(`eth0 in ${netns}`, async () => (await ipLink(netns, 'eth0')) !== undefined);
    await execa('ip', ['-n', netns, 'addr', 'replace', `${addr}/24`, 'dev', 'eth0']);
  };
  const received = async (): Promise<number> => Number((await readFile(counterFile, 'utf8').catch(() => '0')) || '0');
  const tcpWorks = async (from: string, to: string, timeoutS = 2): Promise<boolean> => (await py(from, TCP_ONCE, [to, ECHO_PORT, timeoutS])).exitCode === 0;
  /** Datagrams from the attacker to the victim's denied port; how many the victim got. */
  const udpDelivered = async (from: string, to: string, n = 20): Promise<number> => {
    const before = await received();
    await py(from, UDP_BURST, [to, DENIED_PORT, n]);
    await pause(300);
    return (await received()) - before;
  };
  const policyInV = async (): Promise<number> => (await counterPackets(H(), 'inet', 'policy-in-v')) ?? 0;
  const hup = (): void => {
    process.kill(agent!.pid, 'SIGHUP');
  };
  /** The base state in force: v protected and SecurityApplied, pods addressed, the allowed path open. */
  const base = async (o: Opts = {}): Promise<void> => {
    const r = await apply(o);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    if (o.vProtected !== false) await eventually('v SecurityApplied True', () => appliedTrue('v'));
    for (const [netns, addr] of [[V(), V_IP], [X(), X_IP], [C(), C_IP]] as const) await addressPod(netns, addr);
    await eventually('C -> V tcp/7000 works', () => tcpWorks(C(), V_IP), 15_000);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hostnet-psf-'));
    socket = path.join(dir, 'run', 'agent.sock');
    stateDir = path.join(dir, 'state');
    flag = path.join(dir, 'nft-fail');
    wrapper = path.join(dir, 'nft-wrapper.sh');
    counterFile = path.join(dir, 'udp-count');
    // Fails the transactions (nft -j -f FILE) while the flag file exists, and listings too
    // when the flag says "all".
    await writeFile(wrapper, `#!/bin/sh
if [ -e '${flag}' ] && { [ "$2" = "-f" ] || grep -q all '${flag}'; }; then
  echo "Error: Could not process rule: injected failure" >&2
  exit 1
fi
exec /usr/sbin/nft "$@"
`);
    await chmod(wrapper, 0o755);
    // The victim's services for the whole file: a UDP counter on the denied port, a TCP echo.
    background.push(py(V(), UDP_COUNTER, [DENIED_PORT, counterFile]));
    const ready = path.join(dir, 'echo-ready');
    background.push(py(V(), ECHO_SERVER, [ECHO_PORT, ready]));
    await eventually('victim services up', () => existsSync(ready) && existsSync(counterFile));
    await start();
    await base();
  });
  afterAll(async () => {
    if (dir) await writeFile(`${counterFile}.stop`, '').catch(() => undefined);
    for (const p of background) p.kill('SIGKILL');
    await Promise.allSettled(background);
    if (agent) await agent.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kill -9 and restart, three times, while a denied path is probed and an allowed flow runs: nothing gets through, the flow never breaks', async () => {
    await base();
    const before = await received();
    const policyBefore = await policyInV();
    const stop = path.join(dir, 'k9-stop');
    const progress = path.join(dir, 'k9-progress');
    const echoes = async (): Promise<number> => Number((await readFile(progress, 'utf8').catch(() => '0')) || '0');
    const prober = py(X(), UDP_PROBER, [V_IP, DENIED_PORT, stop]);
    const client = py(C(), ECHO_CLIENT, [V_IP, ECHO_PORT, stop, progress]);
    try {
      await eventually('the allowed flow running', async () => (await echoes()) >= 40);
      for (let round = 0; round < 3; round++) {
        await agent!.kill9();
        await pause(300);
        await start();
        const e = await echoes();
        // Converged again: the rules in force, the flow still going, the probes still dropped by us.
        await eventually(`round ${round}: v SecurityApplied True`, () => appliedTrue('v'));
        await eventually(`round ${round}: echoes keep coming`, async () => (await echoes()) >= e + 40, 30_000);
        const p = await policyInV();
        await eventually(`round ${round}: probes still counted as dropped`, async () => (await policyInV()) > p);
      }
    } finally {
      await writeFile(stop, '');
    }
    const [p, c] = [await prober, await client];
    const flow = JSON.parse(String(c.stdout) || '{}') as { echoes?: number; maxGapMs?: number; error?: string | null };
    expect(flow.error ?? null, String(c.stderr)).toBeNull();
    expect(c.exitCode).toBe(0);
    expect(flow.echoes).toBeGreaterThan(120);
    const sent = Number(String(p.stdout));
    expect(sent).toBeGreaterThan(100);
    await pause(300);
    // The whole time: not one probe reached the victim; the firewall counted them (some may
    // have been lost before ARP resolved, so no exact figure).
    expect(await received()).toBe(before);
    expect((await policyInV()) - policyBefore).toBeGreaterThan(sent / 2);
  });

  it('a failing transaction fails closed: old rules stay, SecurityApplied False TransactionFailed; a pass after the fix applies', async () => {
    await base();
    const rulesBefore = await canonicalRuleset(H());
    const opened = { extraRules: [{ direction: 'INGRESS', protocol: 'UDP', fromPort: DENIED_PORT, toPort: DENIED_PORT }] };
    await writeFile(flag, '');
    try {
      // Would open the denied path (UDP 9000 in).
      const r = await apply(opened);
      expect(r.exitCode === 0 || r.exitCode === 1, `apply returned: ${r.stderr}`).toBe(true);
      const c = await eventually('v SecurityApplied False TransactionFailed', async () => {
        const x = await securityApplied('v');
        return x?.status === ConditionStatus.CONDITION_STATUS_FALSE && x.reason === 'TransactionFailed' ? x : undefined;
      });
      expect(c.message).toContain('injected failure');
      // The previous rules are in force, unchanged: the denied path stays denied, the allowed one open.
      expect(await canonicalRuleset(H())).toEqual(rulesBefore);
      expect(await udpDelivered(X(), V_IP)).toBe(0);
      expect(await tcpWorks(C(), V_IP)).toBe(true);
      // A refresh pass while it still fails changes nothing either.
      hup();
      await pause(1000);
      expect(await canonicalRuleset(H())).toEqual(rulesBefore);
      expect((await securityApplied('v'))?.reason).toBe('TransactionFailed');
      expect(await udpDelivered(X(), V_IP)).toBe(0);
    } finally {
      await rm(flag, { force: true });
    }
    hup();
    await eventually('v SecurityApplied True after the fix', () => appliedTrue('v'), 15_000);
    await eventually('x -> v udp/9000 delivered now', async () => (await udpDelivered(X(), V_IP, 5)) > 0);
  });

  it('a new protected attachment applied while transactions fail forwards nothing unfiltered; it gets its rules after the fix', async () => {
    await base();
    const rulesBefore = await canonicalRuleset(H());
    const pings = async (from: string, to: string): Promise<boolean> =>
      (await execa('ip', ['netns', 'exec', from, 'ping', '-c', '2', '-i', '0.2', '-W', '1', to], { reject: false })).exitCode === 0;
    await writeFile(flag, '');
    try {
      const r = await apply({ withN: true });
      expect(r.exitCode === 0 || r.exitCode === 1, `apply returned: ${r.stderr}`).toBe(true);
      const c = await eventually('n SecurityApplied False TransactionFailed', async () => {
        const x = await securityApplied('n');
        return x?.status === ConditionStatus.CONDITION_STATUS_FALSE && x.reason === 'TransactionFailed' ? x : undefined;
      });
      expect(c.message).toContain('injected failure');
      expect(await canonicalRuleset(H())).toEqual(rulesBefore);
      // If the kernel participant made its device anyway, nothing may pass through it:
      // group srv allows no ICMP in, and n has no rules at all yet.
      if (await ipLink(H(), 'hv-n')) {
        await addressPod(N(), N_IP);
        expect(await pings(X(), N_IP), 'x pings n through n\'s port, which has no rules').toBe(false);
      }
    } finally {
      await rm(flag, { force: true });
    }
    hup();
    await eventually('n SecurityApplied True after the fix', () => appliedTrue('n'), 15_000);
    expect(chainsOf(await canonicalRuleset(H()), 'bridge hostnet')).toEqual(expect.arrayContaining(['port-to-n', 'port-nd-n']));
    await addressPod(N(), N_IP);
    // Now filtered: no ICMP in (srv has none), anything out: n reaches x, x does not reach n.
    await eventually('n pings x (egress ANY)', () => pings(N(), X_IP), 15_000);
    expect(await pings(X(), N_IP)).toBe(false);
  });

  it('when every nft call fails (listings too), GetStatus still answers with the conditions', async () => {
    await base();
    await writeFile(flag, 'all');
    try {
      const r = await apply({ extraRules: [{ direction: 'INGRESS', protocol: 'UDP', fromPort: 9999, toPort: 9999 }] });
      expect(r.exitCode === 0 || r.exitCode === 1, `apply returned: ${r.stderr}`).toBe(true);
      const c = await eventually('v SecurityApplied False TransactionFailed (GetStatus answering)', async () => {
        const x = await securityApplied('v');
        return x?.status === ConditionStatus.CONDITION_STATUS_FALSE && x.reason === 'TransactionFailed' ? x : undefined;
      });
      expect(c.message).toContain('injected failure');
      expect(await udpDelivered(X(), V_IP)).toBe(0);
    } finally {
      await rm(flag, { force: true });
    }
    hup();
    await eventually('v SecurityApplied True after the fix', () => appliedTrue('v'), 15_000);
  });

  it('br_netfilter switched off in the agent\'s namespace: protected IP traffic is dropped and counted, not opened; SIGHUP turns it back on', async () => {
    await base();
    const key = 'net.bridge.bridge-nf-call-iptables';
    const sysctl = async (): Promise<string> => (await execa('ip', ['netns', 'exec', H(), 'sysctl', '-n', key])).stdout.trim();
    const before = (await counterPackets(H(), 'bridge', 'no-bridge-netfilter')) ?? 0;
    await execa('ip', ['netns', 'exec', H(), 'sysctl', '-q', '-w', `${key}=0`]);
    try {
      expect(await tcpWorks(C(), V_IP, 1)).toBe(false);
      expect(await udpDelivered(X(), V_IP)).toBe(0);
      expect((await counterPackets(H(), 'bridge', 'no-bridge-netfilter'))!).toBeGreaterThan(before);
    } finally {
      hup();
    }
    await eventually('bridge-nf-call-iptables back on', async () => (await sysctl()) === '1');
    await eventually('C -> V tcp/7000 works again', () => tcpWorks(C(), V_IP), 15_000);
    expect(await udpDelivered(X(), V_IP)).toBe(0);
  });

  it('drift: a flushed policy chain and a deleted inet table are restored by a SIGHUP pass; the denied path is denied again', async () => {
    await base();
    const want = await canonicalRuleset(H());
    for (const edit of ['flush chain inet hostnet ingress', 'delete table inet hostnet']) {
      await nftRun(H(), edit);
      expect(await canonicalRuleset(H()), edit).not.toEqual(want);
      hup();
      await eventually(`ruleset restored after "${edit}"`, async () => JSON.stringify(await canonicalRuleset(H())) === JSON.stringify(want), 15_000);
      expect(await udpDelivered(X(), V_IP)).toBe(0);
      await eventually('C -> V tcp/7000 works', () => tcpWorks(C(), V_IP), 15_000);
    }
  });

  it('teardown: a deleted protected attachment keeps its chains until its device is gone; portSecurity off drops the rules at once and passes traffic', async () => {
    await base({ withT: true });
    await eventually('t SecurityApplied True', () => appliedTrue('t'));
    const tChains = (chains: string[]): string[] => chains.filter((c) => /^port-.*-t$/.test(c) || /-t$/.test(c) && c.startsWith('port-'));
    expect(tChains(chainsOf(await canonicalRuleset(H()), 'bridge hostnet'))).toEqual(expect.arrayContaining(['port-to-t', 'port-nd-t']));
    // Watch while t is deleted: whenever its chains are seen gone, its device must be gone too
    // (read after the chains, so a device seen then outlived the rules).
    let watching = true;
    const violations: string[] = [];
    const watcher = (async () => {
      while (watching) {
        const r = await canonicalRuleset(H());
        const chains = [...chainsOf(r, 'inet hostnet'), ...chainsOf(r, 'bridge hostnet')];
        const dev = await ipLink(H(), 'hv-t');
        if (tChains(chains).length === 0 && dev !== undefined) violations.push(`chains of t gone while hv-t exists (${JSON.stringify(dev.flags)})`);
      }
    })();
    try {
      const r = await apply({});
      expect(r.exitCode, r.stderr).toBe(0);
      await eventually('hv-t gone', async () => (await ipLink(H(), 'hv-t')) === undefined);
      await eventually('no port-*-t chains', async () => {
        const rs = await canonicalRuleset(H());
        return tChains([...chainsOf(rs, 'inet hostnet'), ...chainsOf(rs, 'bridge hostnet')]).length === 0;
      });
    } finally {
      watching = false;
      await watcher;
    }
    expect(violations).toEqual([]);
    const counters = Object.keys((await canonicalRuleset(H())).counter);
    expect(counters.filter((c) => c.endsWith('-t'))).toEqual([]);

    // Port security off for v: its rules go in the apply's pass, and the denied path opens.
    expect(await udpDelivered(X(), V_IP)).toBe(0);
    const r = await apply({ vProtected: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const rs = await canonicalRuleset(H());
    expect([...chainsOf(rs, 'inet hostnet'), ...chainsOf(rs, 'bridge hostnet')].filter((c) => c.endsWith('-v'))).toEqual([]);
    // No protected port left: no tables at all.
    expect(await nftList(H(), 'table', 'inet', 'hostnet')).toBeNull();
    expect(await nftList(H(), 'table', 'bridge', 'hostnet')).toBeNull();
    expect(await udpDelivered(X(), V_IP)).toBeGreaterThan(0);
  });

  it('drop counters survive an agent restart and a refresh pass', async () => {
    await base();
    await udpDelivered(X(), V_IP, 30);
    const readAll = async () => ({
      policyIn: (await counterPackets(H(), 'inet', 'policy-in-v'))!,
      spoof: (await counterPackets(H(), 'bridge', 'spoof-v'))!,
    });
    // A spoofed source from v (another address on its eth0) counts in spoof-v.
    await execa('ip', ['-n', V(), 'addr', 'replace', `${ip(99)}/32`, 'dev', 'eth0']);
    await py(V(), `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('${ip(99)}', 0))
for i in range(10):
    s.sendto(b'spoof', ('${X_IP}', 9))
    time.sleep(0.01)
`, []);
    await execa('ip', ['-n', V(), 'addr', 'del', `${ip(99)}/32`, 'dev', 'eth0']);
    const before = await readAll();
    expect(before.policyIn).toBeGreaterThanOrEqual(20);
    expect(before.spoof).toBeGreaterThanOrEqual(5);

    await agent!.kill9();
    await start();
    await eventually('v SecurityApplied True', () => appliedTrue('v'));
    const afterKill = await readAll();
    expect(afterKill.policyIn).toBeGreaterThanOrEqual(before.policyIn);
    expect(afterKill.spoof).toBeGreaterThanOrEqual(before.spoof);

    await agent!.stop();
    await start();
    const afterStop = await readAll();
    expect(afterStop.policyIn).toBeGreaterThanOrEqual(before.policyIn);
    expect(afterStop.spoof).toBeGreaterThanOrEqual(before.spoof);

    hup();
    await pause(500);
    await eventually('v SecurityApplied True', () => appliedTrue('v'));
    const afterHup = await readAll();
    expect(afterHup.policyIn).toBeGreaterThanOrEqual(before.policyIn);
    expect(afterHup.spoof).toBeGreaterThanOrEqual(before.spoof);
    // GetStatus reports the same figures.
    const ps = (await status()).attachments.find((a) => a.name === 'v')?.portSecurity;
    expect(ps?.ingressDroppedPackets).toBeGreaterThanOrEqual(before.policyIn);
    expect(ps?.spoofDroppedPackets).toBeGreaterThanOrEqual(before.spoof);
  });
});
