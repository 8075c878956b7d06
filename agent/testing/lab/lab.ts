// A multi-node lab in network namespaces: N hosts on an underlay bridge, each running the real
// hostnet-agent (and, with EVPN, its own FRR), a control namespace that pushes desired state to
// every host over gRPC with mutual TLS (hostnetctl --server), and workloads (namespaces behind
// veth attachments) on any host. Used by `npm run lab`, the lab e2e tests and bench/lab.
//
//   const lab = await Lab.create({ prefix: 'hntest-lab-', hosts: 3 });
//   await lab.addNetwork({ name: 'blue', mode: 'multicast', vni: 100, cidr: '10.78.1.0/24' });
//   await lab.addWorkload(1, 'a', 'blue'); await lab.addWorkload(2, 'b', 'blue');
//   (await lab.ping('a', lab.workload('b').ip)).ok; await lab.close();
import { execa } from 'execa';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stopFrrInstance } from '../../frr/daemons.js';
import { runningAgentPid, removePidFile, startLabAgent, stopPid, type LabAgent } from './agents.js';
import { makePki, runCtl, writeCtlScripts, type CtlResult, type LabPki } from './control.js';
import { defaultWorkloadIp, labNetwork, labNode, workloadAttachment, type LabNetworkSpec } from './networks.js';
import { pingFrom, type MatrixCell, type PingOptions, type PingResult } from './ping.js';
import { agentArgs, hostAddress, hostFiles, hostName, topology, workloadNs, type LabTopology } from './topology.js';
import { addNamespace, addUnderlayPeer, buildUnderlay, deleteNamespace, labNamespaces, setUnderlayMtu } from './underlay.js';

export interface LabOptions {
  /** Start of every namespace and FRR pathspace name: hndemo-lab- (npm run lab), hntest-…, hnbench-…. */
  prefix: string;
  /** Default 3. */
  hosts?: number;
  /** Certificates, sockets, state, logs. Default: /tmp/hostnet-lab/<prefix> (removed by close). */
  dir?: string;
  /** A lab of this prefix already up (a crashed run's, or one kept): remove it first (true) or refuse (false, the default). */
  replace?: boolean;
  /** More hostnet-agent flags for every host. */
  agentArgs?: string[];
  /** Progress lines. */
  log?: (line: string) => void;
  /** node.bgp of each host (the API's JSON mapping), instead of the EVPN iBGP mesh: e.g. eBGP to a fabric router (addUnderlayPeer). */
  bgp?: (host: number) => Record<string, unknown>;
}

export interface LabWorkload {
  name: string;
  host: number;
  network: string;
  /** '' when the workload has no address of the lab's (addWorkload's ip ''): its own DHCP client gets one. */
  ip: string;
  /** The workload's namespace; its interface is eth0. */
  ns: string;
  /** The attachment's veth on the host. */
  ifName: string;
  /** The workload's MAC when the lab set it (moving a workload keeps it); else the agent derives it from the name. */
  mac?: string;
}

export interface FdbEntry {
  mac: string;
  ifname?: string;
  dst?: string;
  master?: string;
  state?: string;
  flags?: string[];
}

export const defaultLabDir = (prefix: string): string => path.join('/tmp/hostnet-lab', prefix.replace(/-$/, ''));

const NAME = /^[a-z][a-z0-9-]{0,19}$/;

export class Lab {
  private readonly agents = new Map<number, LabAgent>();
  private readonly networks: LabNetworkSpec[] = [];
  private readonly workloadList: LabWorkload[] = [];
  private readonly generation = new Map<number, number>();
  private closed = false;

  private constructor(readonly topology: LabTopology, readonly dir: string, readonly pki: LabPki, private readonly opts: LabOptions) {}

  /** Builds the underlay, the PKI and the hosts, and starts every host's agent. */
  static async create(opts: LabOptions): Promise<Lab> {
    const t = topology(opts.prefix, opts.hosts ?? 3);
    const dir = opts.dir ?? defaultLabDir(opts.prefix);
    const log = opts.log ?? (() => undefined);
    const leftovers = await labNamespaces(opts.prefix);
    if (leftovers.length) {
      if (!opts.replace) throw new Error(`lab ${opts.prefix}: already up (${leftovers.length} namespaces: ${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', ...' : ''}); remove it first (npm run lab -- --down)`);
      log(`removing the previous lab ${opts.prefix} (${leftovers.length} namespaces)`);
      await Lab.down(opts.prefix, dir);
    }
    await mkdir(dir, { recursive: true });
    let lab: Lab | null = null;
    try {
      await writeFile(path.join(dir, 'lab.json'), `${JSON.stringify({ prefix: t.prefix, hosts: t.hosts }, null, 2)}\n`);
      log(`building the underlay (${t.underlayNs}), the control namespace (${t.ctlNs}) and ${t.hosts} hosts (${t.hostNs[0]}..)`);
      await buildUnderlay(t);
      for (let i = 1; i <= t.hosts; i++) await mkdir(hostFiles(dir, i).dir, { recursive: true });
      log('PKI: a lab CA, a server certificate for each host, a client certificate for the control plane');
      const pki = await makePki(dir, t.hosts);
      await writeCtlScripts(t, pki, dir);
      lab = new Lab(t, dir, pki, opts);
      log(`starting hostnet-agent in each host (gRPC over mutual TLS on <host>:7443)`);
      await Promise.all(Array.from({ length: t.hosts }, (_, k) => lab!.startAgent(k + 1)));
      return lab;
    } catch (err) {
      if (lab) await lab.close().catch(() => undefined);
      else await Lab.down(opts.prefix, dir).catch(() => undefined);
      throw err;
    }
  }

  get hosts(): number {
    return this.topology.hosts;
  }

  hostIp(host: number): string {
    return hostAddress(this.checkHost(host));
  }

  hostNs(host: number): string {
    return this.topology.hostNs[this.checkHost(host) - 1]!;
  }

  agentPid(host: number): number | null {
    return this.agents.get(this.checkHost(host))?.pid ?? null;
  }

  workloads(): LabWorkload[] {
    return [...this.workloadList];
  }

  workload(name: string): LabWorkload {
    const w = this.workloadList.find((x) => x.name === name);
    if (!w) throw new Error(`lab: no workload "${name}" (have: ${this.workloadList.map((x) => x.name).join(', ') || 'none'})`);
    return w;
  }

  /** The desired state this lab pushes to `host` (the API's JSON mapping). */
  desiredState(host: number): Record<string, unknown> {
    this.checkHost(host);
    const evpn = this.networks.some((n) => n.mode === 'evpn' && !n.routed);
    const node = labNode(host, this.hosts, evpn && !this.opts.bgp);
    return {
      generation: this.generation.get(host) ?? 0,
      node: this.opts.bgp ? { ...node, bgp: this.opts.bgp(host) } : node,
      networks: this.networks.map((n) => labNetwork(n, host, this.hosts)),
      attachments: this.workloadList.filter((w) => w.host === host).map((w) => workloadAttachment(w)),
    };
  }

  /** A network on every host (rendered per host), pushed to all of them unless `apply` is false. */
  async addNetwork(spec: LabNetworkSpec, opts: { apply?: boolean } = {}): Promise<void> {
    if (!NAME.test(spec.name)) throw new Error(`lab: network name "${spec.name}": want lowercase letters, digits and "-", at most 20`);
    if (this.networks.some((n) => n.name === spec.name)) throw new Error(`lab: network "${spec.name}" exists`);
    this.networks.push(spec);
    if (opts.apply ?? true) await this.applyAll();
  }

  async removeNetwork(name: string, opts: { apply?: boolean } = {}): Promise<void> {
    const i = this.networks.findIndex((n) => n.name === name);
    if (i < 0) throw new Error(`lab: no network "${name}"`);
    if (this.workloadList.some((w) => w.network === name)) throw new Error(`lab: network "${name}" still has workloads`);
    this.networks.splice(i, 1);
    if (opts.apply ?? true) await this.applyAll();
  }

  /**
   * A workload on `host`: a namespace <prefix>hN-<name> and an attachment whose veth peer is its
   * eth0, with `ip` (default: .16*host+n of the network, see defaultWorkloadIp) and `mac` (default:
   * the agent's, derived from the name). Pushed to the host (waiting until Ready) unless `apply` is false.
   */
  async addWorkload(host: number, name: string, network: string, ip?: string, opts: { apply?: boolean; mac?: string } = {}): Promise<LabWorkload> {
    this.checkHost(host);
    if (!NAME.test(name)) throw new Error(`lab: workload name "${name}": want lowercase letters, digits and "-", at most 20`);
    if (this.workloadList.some((w) => w.name === name)) throw new Error(`lab: workload "${name}" exists (names are unique in the lab)`);
    const net = this.networks.find((n) => n.name === network);
    if (!net) throw new Error(`lab: workload "${name}": no network "${network}"`);
    const ifName = `w-${name}`.slice(0, 15);
    const clash = this.workloadList.find((w) => w.host === host && w.ifName === ifName);
    if (clash) throw new Error(`lab: workload "${name}": its host interface ${ifName} is "${clash.name}"'s too (names sharing their first 13 characters)`);
    const n = this.workloadList.filter((w) => w.host === host && w.network === network).length + 1;
    const w: LabWorkload = { name, host, network, ip: ip ?? defaultWorkloadIp(net.cidr, host, n), ns: workloadNs(this.topology.prefix, host, name), ifName, ...(opts.mac ? { mac: opts.mac } : {}) };
    await addNamespace(w.ns);
    this.workloadList.push(w);
    if (opts.apply ?? true) await this.apply(host);
    return w;
  }

  /**
   * Removes the attachment (pushed to its host unless `apply` is false), then the namespace
   * unless `keepNamespace` (a test timing what the Apply alone did; close removes it anyway).
   */
  async removeWorkload(name: string, opts: { apply?: boolean; keepNamespace?: boolean } = {}): Promise<void> {
    const w = this.workload(name);
    this.workloadList.splice(this.workloadList.indexOf(w), 1);
    if (opts.apply ?? true) await this.apply(w.host);
    if (!opts.keepNamespace) await deleteNamespace(w.ns);
  }

  /**
   * Pushes host `host`'s desired state with `hostnetctl apply` from the ctl namespace over mTLS;
   * with `wait` (default), until every network and attachment there is Ready.
   */
  async apply(host: number, opts: { wait?: boolean; timeoutSeconds?: number } = {}): Promise<string> {
    const gen = (this.generation.get(host) ?? 0) + 1;
    this.generation.set(host, gen);
    const file = path.join(hostFiles(this.dir, host).dir, `desired-${gen}.json`);
    await writeFile(file, `${JSON.stringify(this.desiredState(host), null, 2)}\n`);
    const wait = opts.wait ?? true;
    const r = await this.ctlResult(host, ['apply', '-f', file, ...(wait ? ['--wait', '--timeout', String(opts.timeoutSeconds ?? 60)] : [])],
      ((opts.timeoutSeconds ?? 60) + 30) * 1000);
    if (r.exitCode !== 0) throw new Error(`lab: apply generation ${gen} to ${hostName(host)} (${file}): exit ${r.exitCode}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  /**
   * Pushes every host's state at once: hosts of one EVPN network become Ready only when their
   * peers have BGP too, so they cannot be waited for one by one.
   */
  async applyAll(opts: { wait?: boolean; timeoutSeconds?: number } = {}): Promise<void> {
    const all = Array.from({ length: this.hosts }, (_, k) => k + 1);
    await Promise.all(all.map((h) => this.apply(h, opts)));
    // `apply --wait` waits for networks and attachments; EVPN also needs the BGP sessions up.
    if ((opts.wait ?? true) && this.networks.some((n) => n.mode === 'evpn' && !n.routed)) {
      await Promise.all(all.map((h) => this.waitBgpReady(h, (opts.timeoutSeconds ?? 60) * 1000)));
    }
  }

  /** Polls `hostnetctl get node` until the node's BgpReady is True (every session established). */
  async waitBgpReady(host: number, timeoutMs = 60_000): Promise<void> {
    type Node = { conditions?: { type: string; status: string; message?: string }[] };
    const deadline = Date.now() + timeoutMs;
    let last = 'no node status';
    for (;;) {
      const node = JSON.parse(await this.ctl(host, ['get', 'node', '-o', 'json'])) as Node;
      const c = node.conditions?.find((x) => x.type === 'BgpReady');
      if (c && /TRUE/i.test(c.status)) return;
      last = c ? `BgpReady ${c.status}: ${c.message ?? ''}` : 'no BgpReady condition';
      if (Date.now() > deadline) throw new Error(`lab: ${hostName(host)}: BGP not ready after ${timeoutMs} ms (${last})`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /**
   * A namespace <prefix><name> wired to the underlay bridge with eth0 at `address`/24 (a router
   * of the fabric, a client): deleted with the lab. Returns the namespace's name.
   */
  async addUnderlayPeer(name: string, address: string): Promise<string> {
    if (!NAME.test(name)) throw new Error(`lab: underlay peer "${name}": want lowercase letters, digits and "-", at most 20`);
    const ns = `${this.topology.prefix}${name}`;
    await addUnderlayPeer(this.topology, ns, `p-${name}`.slice(0, 15), address);
    return ns;
  }

  /** hostnetctl ARGS against `host` over mTLS from the ctl namespace; throws on a non-zero exit. */
  async ctl(host: number, args: string[]): Promise<string> {
    const r = await this.ctlResult(host, args);
    if (r.exitCode !== 0) throw new Error(`lab: hostnetctl ${args.join(' ')} on ${hostName(host)}: exit ${r.exitCode}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  ctlResult(host: number, args: string[], timeoutMs?: number): Promise<CtlResult> {
    return runCtl(this.topology, this.pki, this.checkHost(host), args, timeoutMs);
  }

  /** ping from workload `from` (its namespace) to `toIp`. */
  ping(from: string, toIp: string, opts: PingOptions = {}): Promise<PingResult> {
    return pingFrom(this.workload(from).ns, toIp, opts);
  }

  /** Every workload pings every other on its network (each source's pings in parallel). */
  async pingMatrix(opts: PingOptions = {}): Promise<MatrixCell[]> {
    const o = { attempts: 3, timeout: 1, ...opts };
    const cells: MatrixCell[] = [];
    await Promise.all(this.workloadList.map(async (from) => {
      for (const to of this.workloadList) {
        if (to === from || to.network !== from.network || !to.ip) continue;
        cells.push({ from: from.name, to: to.name, toIp: to.ip, result: await pingFrom(from.ns, to.ip, o) });
      }
    }));
    return cells;
  }

  /** `bridge -j fdb show dev DEV` in `host`: the forwarding entries the kernel holds for a device. */
  async fdb(host: number, dev: string): Promise<FdbEntry[]> {
    const r = await execa('bridge', ['-n', this.hostNs(host), '-j', 'fdb', 'show', 'dev', dev], { reject: false });
    if (r.exitCode !== 0) throw new Error(`lab: fdb of ${dev} on ${hostName(host)}: ${r.stderr.trim()}`);
    return r.stdout.trim() ? (JSON.parse(r.stdout) as FdbEntry[]) : [];
  }

  /**
   * Sets the MTU of the whole underlay: every host's and the ctl namespace's eth0 and both ends
   * of their wires (the underlay bridge follows its ports). The agents see it on their next pass.
   */
  async setUnderlayMtu(mtu: number): Promise<void> {
    await setUnderlayMtu(this.topology, mtu);
  }

  /** A command inside workload `name`'s namespace. */
  async execIn(name: string, argv: string[]): Promise<string> {
    const r = await execa('ip', ['netns', 'exec', this.workload(name).ns, ...argv], { reject: false });
    if (r.exitCode !== 0) throw new Error(`lab: ${argv.join(' ')} in ${name}: exit ${r.exitCode}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Sends `signal` to host's agent (default SIGKILL: a crash); waits for the exit of SIGKILL and SIGTERM. */
  async killAgent(host: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const agent = this.agents.get(this.checkHost(host));
    if (!agent) throw new Error(`lab: ${hostName(host)}: no agent running`);
    process.kill(agent.pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      await agent.exited;
      this.agents.delete(host);
    }
  }

  /** Stops host's agent if it runs (SIGTERM), then starts it again with the same flags and state. */
  async restartAgent(host: number): Promise<void> {
    const agent = this.agents.get(this.checkHost(host));
    if (agent) {
      await stopPid(agent.pid);
      await agent.exited;
      this.agents.delete(host);
    }
    await this.startAgent(host);
  }

  /** The agent's log so far (pino JSON lines). */
  async agentLog(host: number): Promise<string> {
    return readFile(hostFiles(this.dir, this.checkHost(host)).log, 'utf8').catch(() => '');
  }

  /**
   * Leaves the lab up for another process (npm run lab -- --keep): the agents keep running
   * after this process exits; Lab.down(prefix) removes it.
   */
  detach(): void {
    this.closed = true;
  }

  /** Stops the agents (by pid), each host's FRR, deletes every namespace of the lab and its directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.agents.values()].map((a) => stopPid(a.pid)));
    this.agents.clear();
    await Lab.down(this.topology.prefix, this.dir);
  }

  /**
   * Removes a lab by its prefix, whoever started it: agents by the pid files in `dir` (only
   * processes that are still this lab's agents), FRR instances named <prefix>hN (by their pid
   * files), namespaces starting with the prefix, and the directory.
   */
  static async down(prefix: string, dir: string = defaultLabDir(prefix)): Promise<{ agents: number; frr: number; namespaces: number }> {
    let agents = 0;
    const hostDirs = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^h\d+$/.test(n));
    await Promise.all(hostDirs.map(async (h) => {
      const f = hostFiles(dir, Number(h.slice(1)));
      const pid = await runningAgentPid(f.pidFile, f.socket);
      if (pid !== null) {
        await stopPid(pid);
        agents++;
      }
      await removePidFile(f.pidFile);
    }));
    // After the agents: a supervising agent would start FRR again.
    const pathspaces = new Set<string>();
    for (const root of ['/var/run/frr', '/etc/frr']) {
      for (const n of await readdir(root).catch(() => [] as string[])) if (n.startsWith(prefix) && /h\d+$/.test(n)) pathspaces.add(n);
    }
    let frr = 0;
    for (const p of pathspaces) frr += (await stopFrrInstance(p, { removeFiles: true }).catch(() => [])).length;
    const namespaces = await labNamespaces(prefix);
    await Promise.all(namespaces.map(deleteNamespace));
    await rm(dir, { recursive: true, force: true });
    return { agents, frr, namespaces: namespaces.length };
  }

  private async startAgent(host: number): Promise<void> {
    const f = hostFiles(this.dir, host);
    const args = [...agentArgs(this.topology, this.dir, host, this.pki), ...(this.opts.agentArgs ?? [])];
    this.agents.set(host, await startLabAgent(this.hostNs(host), args, f));
  }

  private checkHost(host: number): number {
    if (!Number.isInteger(host) || host < 1 || host > this.topology.hosts) throw new Error(`lab: host ${host}: want 1..${this.topology.hosts}`);
    return host;
  }
}

