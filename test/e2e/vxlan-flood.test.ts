// VXLAN flood lists end to end: the lab's 3 hosts (namespaces on an underlay bridge, the real
// hostnet-agent in each, desired state pushed over mutual TLS), one network whose VXLAN uplink
// lists the other two hosts as `remotes`, a veth workload per host. Witnesses: ping between the
// workloads' namespaces, `bridge -j fdb show dev hnvx4242` in each host, `bridge monitor fdb`
// while the list changes (only the entries that differ change), GetStatus's remoteVteps through
// hostnetctl, and an entry deleted by hand coming back. Once with the netlink backend, and the
// drift repair again with the iproute2 backend.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../agent/testing/lab/lab.js';
import type { LabNetworkSpec } from '../../agent/testing/lab/networks.js';
import { formatMatrix } from '../../agent/testing/lab/ping.js';
import { buildDist } from '../lib/agent-process.js';
import { eventually } from '../lib/agent-state.js';

const PREFIX = 'hntest-fdb-';
const ZEROS = '00:00:00:00:00:00';
const SPEC: LabNetworkSpec = { name: 'green', mode: 'flood', vni: 4242, cidr: '10.78.42.0/24' };
const DEV = 'hnvx4242';

function useLab(prefix: string, agentArgs: string[] = []): () => Lab {
  let lab: Lab | null = null;
  beforeAll(async () => {
    await buildDist();
    lab = await Lab.create({ prefix, hosts: 3, dir: await mkdtemp(path.join(tmpdir(), prefix)), replace: true, agentArgs });
    await lab.addNetwork(SPEC, { apply: false });
    for (const h of [1, 2, 3]) await lab.addWorkload(h, `g${h}`, SPEC.name, undefined, { apply: false });
    await lab.applyAll({ timeoutSeconds: 90 });
  }, 180_000);
  afterAll(async () => {
    await lab?.close();
    await Lab.down(prefix).catch(() => undefined); // a half-built lab
    const left = await execa('ip', ['netns', 'list']);
    expect(left.stdout).not.toContain(prefix);
  }, 60_000);
  return () => lab!;
}

/** The remotes of the device's flood list (its all-zeros entries), sorted. */
async function floodList(lab: Lab, host: number): Promise<string[]> {
  const entries = await lab.fdb(host, DEV);
  return entries.filter((e) => e.mac === ZEROS).map((e) => e.dst ?? '?').sort();
}

async function expectFullMatrix(lab: Lab): Promise<void> {
  const cells = await lab.pingMatrix({ attempts: 5 });
  const names = lab.workloads().map((w) => w.name);
  expect(cells).toHaveLength(names.length * (names.length - 1));
  expect(cells.filter((c) => !c.result.ok).map((c) => `${c.from} -> ${c.to}`), formatMatrix(names, cells)).toEqual([]);
}

/** Pushes host's lab state with the network's remotes replaced, waiting until Ready. */
async function pushRemotes(lab: Lab, host: number, remotes: string[], generation: number): Promise<void> {
  const s = lab.desiredState(host) as { generation: number; networks: { uplink: { vxlan: { remotes: string[] } } }[] };
  s.generation = generation;
  s.networks[0]!.uplink.vxlan.remotes = remotes;
  const file = path.join(lab.dir, `h${host}`, `remotes-${generation}.json`);
  await writeFile(file, JSON.stringify(s));
  await lab.ctl(host, ['apply', '-f', file, '--wait', '--timeout', '60']);
}

/** `bridge monitor fdb` in a host while `during` runs: the flood-list lines it printed. */
async function fdbChanges(ns: string, during: () => Promise<void>): Promise<string[]> {
  const child: ResultPromise<{ reject: false; buffer: true }> = execa('bridge', ['-n', ns, '-o', 'monitor', 'fdb'], { reject: false, buffer: true });
  try {
    await new Promise((r) => setTimeout(r, 500)); // listening by then
    await during();
    await new Promise((r) => setTimeout(r, 500)); // its last lines printed
  } finally {
    child.kill('SIGTERM');
  }
  const out = String((await child).stdout ?? '');
  return out.split('\n').filter((l) => l.includes(`dev ${DEV}`) && l.includes(ZEROS)).map((l) => l.trim());
}

describe('flood list: 3 hosts, netlink backend', () => {
  const lab = useLab(`${PREFIX}nl-`);

  it('every workload pings every other across hosts', async () => {
    await expectFullMatrix(lab());
  });

  it("each host's VXLAN device floods to exactly the other two, learning off, no remote; status says so", async () => {
    for (const h of [1, 2, 3]) {
      const others = [1, 2, 3].filter((o) => o !== h).map((o) => lab().hostIp(o)).sort();
      expect(await floodList(lab(), h)).toEqual(others);
      const [vx] = JSON.parse((await execa('ip', ['-n', lab().hostNs(h), '-j', '-d', 'link', 'show', 'dev', DEV])).stdout) as { linkinfo: { info_data: Record<string, unknown> } }[];
      expect(vx!.linkinfo.info_data['learning']).toBe(false);
      expect(vx!.linkinfo.info_data['remote']).toBeUndefined();
      expect(await lab().ctl(h, ['describe', 'network', SPEC.name])).toContain(`Remote VTEPs: ${others.join(', ')}`);
    }
  });

  it('a changed list (one dropped, one added) changes only those entries; restored, traffic flows again', async () => {
    const h2 = lab().hostIp(2);
    const h3 = lab().hostIp(3);
    const absent = '10.77.0.99';
    const lines = await fdbChanges(lab().hostNs(1), () => pushRemotes(lab(), 1, [h2, absent], 1001));
    expect(lines.sort()).toEqual([`${ZEROS} dev ${DEV} dst ${absent} self permanent`, `Deleted ${ZEROS} dev ${DEV} dst ${h3} self permanent`].sort());
    expect(await floodList(lab(), 1)).toEqual([absent, h2].sort());
    await eventually('remoteVteps after the change', async () =>
      (await lab().ctl(1, ['describe', 'network', SPEC.name])).includes(`Remote VTEPs: ${[h2, absent].sort().join(', ')}`));
    // g1 still reaches g2 (its entry stayed); broadcasts to h3 are gone, so ARP for g3 fails.
    expect((await lab().ping('g1', lab().workload('g2').ip, { attempts: 3 })).ok).toBe(true);
    await lab().execIn('g1', ['ip', 'neigh', 'flush', 'all']);
    expect((await lab().ping('g1', lab().workload('g3').ip, { attempts: 1, timeout: 1 })).ok).toBe(false);

    const back = await fdbChanges(lab().hostNs(1), () => pushRemotes(lab(), 1, [h2, h3], 1002));
    expect(back.sort()).toEqual([`${ZEROS} dev ${DEV} dst ${h3} self permanent`, `Deleted ${ZEROS} dev ${DEV} dst ${absent} self permanent`].sort());
    expect(await floodList(lab(), 1)).toEqual([h2, h3].sort());
    await expectFullMatrix(lab());
  });

  it('an entry deleted by hand comes back within a few seconds', async () => {
    const h3 = lab().hostIp(3);
    let tookMs = 0;
    // The agent is quick (often back before a read after the delete): the monitor saw both.
    const lines = await fdbChanges(lab().hostNs(1), async () => {
      const started = Date.now();
      await execa('bridge', ['-n', lab().hostNs(1), 'fdb', 'del', ZEROS, 'dev', DEV, 'dst', h3]);
      await eventually('the deleted entry back', async () => (await floodList(lab(), 1)).includes(h3), 5000);
      tookMs = Date.now() - started;
    });
    expect(lines).toEqual([`Deleted ${ZEROS} dev ${DEV} dst ${h3} self permanent`, `${ZEROS} dev ${DEV} dst ${h3} self permanent`]);
    expect(tookMs).toBeLessThan(5000);
    expect(await floodList(lab(), 1)).toEqual([lab().hostIp(2), h3].sort());
    // An all-zeros entry appended by hand to a remote that is not listed goes again.
    await execa('bridge', ['-n', lab().hostNs(1), 'fdb', 'append', ZEROS, 'dev', DEV, 'dst', '10.77.0.98']);
    await eventually('the stray entry gone', async () => !(await floodList(lab(), 1)).includes('10.77.0.98'), 5000);
    // Another MAC's entry on the device is not the agent's business.
    await execa('bridge', ['-n', lab().hostNs(1), 'fdb', 'add', '02:00:00:00:42:01', 'dev', DEV, 'dst', '10.77.0.97']);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await lab().fdb(1, DEV)).some((e) => e.mac === '02:00:00:00:42:01')).toBe(true);
    await expectFullMatrix(lab());
  });
});

describe('flood list: 3 hosts, iproute2 backend', () => {
  const lab = useLab(`${PREFIX}ip-`, ['--dataplane', 'iproute2']);

  it('the flood lists are set, traffic flows, and a hand-deleted entry comes back', async () => {
    for (const h of [1, 2, 3]) expect(await floodList(lab(), h)).toEqual([1, 2, 3].filter((o) => o !== h).map((o) => lab().hostIp(o)).sort());
    await expectFullMatrix(lab());
    const h2 = lab().hostIp(2);
    const lines = await fdbChanges(lab().hostNs(3), async () => {
      await execa('bridge', ['-n', lab().hostNs(3), 'fdb', 'del', ZEROS, 'dev', DEV, 'dst', h2]);
      await eventually('the deleted entry back', async () => (await floodList(lab(), 3)).includes(h2), 5000);
    });
    expect(lines).toEqual([`Deleted ${ZEROS} dev ${DEV} dst ${h2} self permanent`, `${ZEROS} dev ${DEV} dst ${h2} self permanent`]);
    expect(await floodList(lab(), 3)).toEqual([lab().hostIp(1), h2].sort());
  });
});
