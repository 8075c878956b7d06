// The multi-node lab (agent/testing/lab) as the e2e tests use it: 3 hosts as namespaces on an
// underlay, each running the real hostnet-agent; desired state pushed to each over gRPC with
// mutual TLS from the control namespace (hostnetctl --server); workloads on every host.
// Witnesses: ping between workloads' namespaces, the bridges' fdb (bridge -j fdb), hostnetctl's
// output against each host, the agents' and FRR's pids, and no namespace left behind.
import { execa } from 'execa';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../agent/testing/lab/lab.js';
import type { LabNetworkSpec } from '../../agent/testing/lab/networks.js';
import { formatMatrix } from '../../agent/testing/lab/ping.js';
import { buildDist } from '../lib/agent-process.js';

const PREFIX = 'hntest-lab-';

/** A lab of 3 hosts with `spec` and workloads a1..a3 (one per host) plus b1 (a second on h1). */
function useLab(spec: LabNetworkSpec): () => Lab {
  let lab: Lab | null = null;
  beforeAll(async () => {
    await buildDist();
    lab = await Lab.create({ prefix: PREFIX, hosts: 3, dir: await mkdtemp(path.join(tmpdir(), 'hntest-lab-')), replace: true });
    await lab.addNetwork(spec, { apply: false });
    for (const h of [1, 2, 3]) await lab.addWorkload(h, `a${h}`, spec.name, undefined, { apply: false });
    await lab.addWorkload(1, 'b1', spec.name, undefined, { apply: false });
    await lab.applyAll({ timeoutSeconds: 90 });
  }, 180_000);
  afterAll(async () => {
    await lab?.close();
    await Lab.down(PREFIX).catch(() => undefined); // a half-built lab
    const left = await execa('ip', ['netns', 'list']);
    expect(left.stdout).not.toContain(PREFIX);
  }, 60_000);
  return () => lab!;
}

async function expectFullMatrix(lab: Lab): Promise<void> {
  const cells = await lab.pingMatrix({ attempts: 5 });
  const names = lab.workloads().map((w) => w.name);
  expect(cells).toHaveLength(names.length * (names.length - 1));
  expect(cells.filter((c) => !c.result.ok).map((c) => `${c.from} -> ${c.to}`), formatMatrix(names, cells)).toEqual([]);
}

async function macOf(ns: string): Promise<string> {
  const r = await execa('ip', ['-n', ns, '-j', 'link', 'show', 'eth0']);
  return (JSON.parse(r.stdout) as { address: string }[])[0]!.address;
}

describe('lab: 3 hosts on a multicast VXLAN network', () => {
  const spec: LabNetworkSpec = { name: 'blue', mode: 'multicast', vni: 4100, cidr: '10.78.1.0/24', group: '239.1.1.41' };
  const lab = useLab(spec);

  it('every workload pings every other, on the same host and across hosts', async () => {
    await expectFullMatrix(lab());
  });

  it('hostnetctl over mTLS from the control namespace shows each host its network and only its own workloads', async () => {
    for (const h of [1, 2, 3]) {
      const nets = await lab().ctl(h, ['get', 'networks']);
      expect(nets).toMatch(/^blue\s+hn-blue\s+10\.78\.1\.0\/24\s+vxlan 4100\s+True/m);
      const atts = await lab().ctl(h, ['get', 'attachments']);
      const own = lab().workloads().filter((w) => w.host === h);
      for (const w of lab().workloads()) {
        if (own.includes(w)) expect(atts).toMatch(new RegExp(`^${w.name}\\s+blue\\s+veth\\s+${w.ifName}\\s+${w.ip.replace(/\./g, '\\.')}/24\\s+True`, 'm'));
        else expect(atts).not.toMatch(new RegExp(`^${w.name}\\s`, 'm'));
      }
    }
    // The unix socket is not what answered: a client without the lab's certificate is refused.
    const r = await execa('ip', ['netns', 'exec', lab().topology.ctlNs, process.execPath, path.resolve(import.meta.dirname, '../../dist/agent/cli/main.js'),
      '--server', `${lab().hostIp(1)}:7443`, '--cert', path.join(lab().dir, 'h1/agent.crt'), '--key', path.join(lab().dir, 'h1/agent.key'),
      '--ca', lab().pki.caFile, 'get', 'networks'], { reject: false });
    expect(r.exitCode).not.toBe(0);
  });

  it('h1\'s bridge forwards the remote workloads\' MACs to its VXLAN device (fdb)', async () => {
    const vxlan = JSON.parse((await execa('ip', ['-n', lab().hostNs(1), '-j', '-d', 'link', 'show', 'type', 'vxlan'])).stdout) as { ifname: string; master?: string; linkinfo: { info_data: { id: number } } }[];
    const dev = vxlan.find((l) => l.linkinfo.info_data.id === 4100);
    expect(dev?.master).toBe('hn-blue');
    await expectFullMatrix(lab()); // fresh traffic, so the entries are there whatever the ageing
    const fdb = await lab().fdb(1, dev!.ifname);
    for (const name of ['a2', 'a3']) {
      const mac = await macOf(lab().workload(name).ns);
      expect(fdb.some((e) => e.mac === mac && e.master === 'hn-blue'), JSON.stringify(fdb)).toBe(true);
    }
    const local = await macOf(lab().workload('b1').ns);
    expect(fdb.some((e) => e.mac === local)).toBe(false);
  });

  it('an agent killed with SIGKILL and restarted: traffic across hosts goes on (a ping every 10 ms loses at most one) and it converges again', async () => {
    const ping = lab().ping('a1', lab().workload('a2').ip, { count: 400, interval: 0.01, timeout: 1 });
    await new Promise((r) => setTimeout(r, 500));
    const pid = lab().agentPid(2);
    await lab().killAgent(2, 'SIGKILL');
    await lab().restartAgent(2);
    expect(lab().agentPid(2)).not.toBe(pid);
    const r = await ping;
    expect(r.sent).toBe(400);
    expect(r.sent - r.received, r.output).toBeLessThanOrEqual(1);
    expect(await lab().ctl(2, ['get', 'attachments'])).toMatch(/^a2\s+blue\s+.*True/m);
    await expectFullMatrix(lab());
  });
});

describe('lab: 3 hosts on an EVPN network (an FRR in each host, iBGP full mesh)', () => {
  const spec: LabNetworkSpec = { name: 'red', mode: 'evpn', vni: 4300, cidr: '10.78.3.0/24' };
  const lab = useLab(spec);

  it('every workload pings every other; each host has established sessions with both others', async () => {
    await expectFullMatrix(lab());
    for (const h of [1, 2, 3]) {
      const node = await lab().ctl(h, ['get', 'node']);
      for (const peer of [1, 2, 3].filter((p) => p !== h)) expect(node).toMatch(new RegExp(`${lab().hostIp(peer).replace(/\./g, '\\.')}\\s+65077\\s+Established`));
      expect(await lab().ctl(h, ['get', 'networks'])).toMatch(/^red\s+hn-red\s+10\.78\.3\.0\/24\s+vxlan 4300 evpn\s+True/m);
    }
  });

  it('close stops every FRR daemon of the lab by pid', async () => {
    const pids = (await execa('sh', ['-c', `cat /var/run/frr/${PREFIX}h*/*.pid`], { reject: false })).stdout.split(/\s+/).filter((p) => p).map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(6); // zebra and bgpd in 3 hosts
    await lab().close();
    // Stopped: gone, or a zombie its parent (whoever adopted the daemon) has not reaped yet.
    const state = async (pid: number): Promise<string> => (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => 'gone')).replace(/^\d+ \(.*\) /, '').split(' ')[0]!;
    for (const pid of pids) expect(['gone', 'Z']).toContain(await state(pid));
  });
});
