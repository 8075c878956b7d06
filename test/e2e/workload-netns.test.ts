// Workload (pod) namespaces and the real hostnet-agent, on each backend, with the periodic resync
// off (issue 8 part 2): the agent keeps nothing open in a workload namespace, so `ip netns del`
// really destroys it; a desired veth whose namespace vanished reports PeerNetnsMissing and its
// pair goes; a namespace that appears (again) at the path gets its pair at once; a path that now
// names another namespace, or a changed desired peer, gets a new pair. Witnesses: `ip -j`, stat,
// /proc of the agent, and a veth whose far end lives in the namespace under test.
import { readdir, readlink, rm, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { ConditionStatus } from '../../agent/api/gen/hostnet/v1/status.js';
import { NETNS_RUN_DIR } from '../../dataplane/netns-path.js';
import { ipJson, ipLink, ipLinks } from '../../dataplane/testing/ip.js';
import { agentClient, buildDist, hostnetctl, rpc, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, network, veth, type StateJson } from '../lib/agent-state.js';
import { createTestNetns, useNetns } from '../lib/netns.js';

beforeAll(buildDist);

/** The nsfs inode of a named namespace (what identifies it, whatever its name). */
async function netnsInode(name: string): Promise<string> {
  return (await execa('stat', ['-L', '-c', '%i', `${NETNS_RUN_DIR}/${name}`])).stdout.trim();
}

/** Every reference the process has to namespaces or files, as readlink shows them. */
async function processRefs(pid: number): Promise<string[]> {
  const out: string[] = [];
  const links = async (dir: string, pick: (entry: string) => string): Promise<void> => {
    for (const e of await readdir(dir).catch(() => [] as string[])) {
      const target = await readlink(path.join(dir, pick(e))).catch(() => null);
      if (target) out.push(target);
    }
  };
  await links(`/proc/${pid}/fd`, (e) => e);
  await links(`/proc/${pid}/task`, (t) => `${t}/ns/net`);
  return out;
}

describe.each(['netlink', 'iproute2'])('workload namespaces, --dataplane %s', (backend) => {
  const ns = useNetns(2, 'all', `wn-${backend.slice(0, 2)}`);
  const host = (): string => ns[0]!;
  const witness = (): string => ns[1]!;
  let dir: string;
  let socket: string;
  let agent: AgentProcess | null = null;
  let client: NodeAgentClient | null = null;
  let generation = 0;
  /** Namespaces this file re-creates by hand (the pool forgets a name once it deleted it). */
  const remade = new Set<string>();
  const pinners: ResultPromise[] = [];

  const apply = async (attachments: Record<string, unknown>[]): Promise<void> => {
    const s: StateJson = { generation: ++generation, networks: [network('web', 7)], attachments };
    const file = path.join(dir, `state-${generation}.json`);
    await writeFile(file, JSON.stringify(s));
    const r = await hostnetctl(socket, ['apply', '-f', file]);
    expect(r.exitCode, r.stderr).toBe(0);
  };
  const attachment = async (name: string) => (await rpc(client!, client!.getStatus, {})).attachments.find((a) => a.name === name);
  const condition = async (name: string, type: string) => (await attachment(name))?.conditions.find((c) => c.type === type);
  const ready = async (name: string): Promise<boolean> => (await condition(name, 'Ready'))?.status === ConditionStatus.CONDITION_STATUS_TRUE;
  const recreate = async (name: string): Promise<void> => {
    remade.add(name);
    await execa('ip', ['netns', 'add', name]);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `hostnet-wn-${backend}-`));
    socket = path.join(dir, 'run', 'agent.sock');
    agent = await startAgent({ netns: host(), socket, stateDir: path.join(dir, 'state'), extraArgs: ['--dataplane', backend] });
    client = agentClient(socket);
  });
  afterAll(async () => {
    client?.close();
    if (agent) await agent.stop().catch(() => undefined);
    for (const p of pinners) p.kill('SIGKILL');
    await Promise.allSettled(pinners);
    for (const name of remade) await execa('ip', ['netns', 'del', name], { reject: false });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a removed attachment\'s namespace, once deleted, is really gone: nothing of the agent keeps it', async () => {
    const pod = await createTestNetns(`wn-${backend.slice(0, 2)}`);
    remade.add(pod);
    await apply([veth('pod-a', 'web', 'hv-a', pod)]);
    await eventually('pod-a Ready', () => ready('pod-a'));
    // Witness: a veth with one end in the pod namespace; it goes when (only when) that namespace is destroyed.
    await execa('ip', ['-n', pod, 'link', 'add', 'wit-pod', 'type', 'veth', 'peer', 'name', 'wit-a', 'netns', witness()]);
    const ino = await netnsInode(pod);
    await apply([]);
    await eventually('hv-a removed', async () => (await ipLink(host(), 'hv-a')) === undefined);
    await execa('ip', ['netns', 'del', pod]);
    expect((await processRefs(agent!.pid)).filter((r) => r === `net:[${ino}]`)).toEqual([]);
    await eventually('the pod namespace destroyed (its veth to the witness namespace gone)',
      async () => (await ipLink(witness(), 'wit-a')) === undefined, 5000);
  });

  it('a desired veth whose namespace is deleted reports PeerNetnsMissing, its pair goes, and it comes back with the namespace', async () => {
    const pod = await createTestNetns(`wn-${backend.slice(0, 2)}`);
    remade.add(pod);
    await apply([veth('pod-b', 'web', 'hv-b', pod)]);
    await eventually('pod-b Ready', () => ready('pod-b'));
    await execa('ip', ['netns', 'del', pod]);
    const missing = await eventually('pod-b Configured False PeerNetnsMissing', async () => {
      const c = await condition('pod-b', 'Configured');
      return c?.status === ConditionStatus.CONDITION_STATUS_FALSE && c.reason === 'PeerNetnsMissing' ? c : undefined;
    });
    expect(missing.message).toContain(`${NETNS_RUN_DIR}/${pod}`);
    await eventually('the old pair gone', async () => (await ipLink(host(), 'hv-b')) === undefined);
    expect(await ready('pod-b')).toBe(false);
    // Let the kernel's late events of the teardown (the bridge losing its last port's carrier
    // comes up to a second later) trigger their passes first, so none of them brings what follows.
    await new Promise((r) => setTimeout(r, 1500));

    await recreate(pod);
    // No periodic resync runs: only the agent's watch on the namespace directory brings this.
    await eventually('pod-b Ready again', () => ready('pod-b'), 5000);
    // Admin state and carrier, not operstate: the kernel updates operstate later (linkwatch).
    expect((await ipLink(pod, 'net1'))!.flags).toEqual(expect.arrayContaining(['UP', 'LOWER_UP']));
    expect(await ipLink(host(), 'hv-b')).toMatchObject({ kind: 'veth', master: 'hn-web' });
  });

  it('a path that now names another namespace gets a new pair there (compared by inode, not name)', async () => {
    const pod = await createTestNetns(`wn-${backend.slice(0, 2)}`);
    remade.add(pod);
    await apply([veth('pod-c', 'web', 'hv-c', pod)]);
    await eventually('pod-c Ready', () => ready('pod-c'));
    const oldIndex = (await ipLink(host(), 'hv-c'))!.ifindex;
    // A process keeps the old namespace (and so the old pair) alive after its name is reused.
    const pinner = execa('ip', ['netns', 'exec', pod, 'sleep', '120'], { reject: false });
    pinners.push(pinner);
    await eventually('pinner inside', async () => (await readlink(`/proc/${pinner.pid}/ns/net`).catch(() => '')) === `net:[${await netnsInode(pod)}]`);
    const oldIno = await netnsInode(pod);
    await execa('ip', ['netns', 'del', pod]);
    await recreate(pod);
    expect(await netnsInode(pod)).not.toBe(oldIno);
    await eventually('a new pair with its peer in the new namespace', async () => {
      const hv = await ipLink(host(), 'hv-c');
      return hv !== undefined && hv.ifindex !== oldIndex && (await ipLink(pod, 'net1')) !== undefined && (await ready('pod-c'));
    }, 5000);
    // The old namespace (still alive) lost its end with the old pair.
    const inOld = await execa('nsenter', ['-t', String(pinner.pid), '-n', 'ip', '-j', 'link', 'show']);
    expect((JSON.parse(inOld.stdout) as { ifname: string }[]).map((l) => l.ifname)).not.toContain('net1');
    pinner.kill('SIGKILL');
  });

  it('a changed desired peer namespace or peer name recreates the pair', async () => {
    const a = await createTestNetns(`wn-${backend.slice(0, 2)}`);
    const b = await createTestNetns(`wn-${backend.slice(0, 2)}`);
    remade.add(a).add(b);
    await apply([veth('pod-d', 'web', 'hv-d', a)]);
    await eventually('pod-d Ready with its peer in the first namespace', async () => (await ready('pod-d')) && (await ipLink(a, 'net1')) !== undefined);
    await apply([veth('pod-d', 'web', 'hv-d', b)]);
    await eventually('the peer moved to the second namespace', async () =>
      (await ipLink(b, 'net1')) !== undefined && (await ipLink(a, 'net1')) === undefined && (await ready('pod-d')));
    // The host end's peer namespace id is the second namespace's, as the host namespace numbers it.
    const ids = await ipJson(host(), 'netns', 'list-id');
    const hv = (await ipJson(host(), '-d', 'link', 'show', 'hv-d'))[0]!;
    expect(ids.find((e) => e['nsid'] === hv['link_netnsid'])?.['name']).toBe(b);
    await apply([veth('pod-d', 'web', 'hv-d', b, 'net7')]);
    await eventually('the peer renamed by recreation', async () =>
      (await ipLink(b, 'net7')) !== undefined && (await ipLink(b, 'net1')) === undefined && (await ready('pod-d')));
    expect((await ipLinks(host())).filter((l) => l.ifname === 'hv-d')).toHaveLength(1);
  });
});
