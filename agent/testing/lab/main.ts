// npm run lab: a multi-node lab in network namespaces. N hosts (default 3) on an underlay, each
// running the real hostnet-agent; desired state pushed to each over gRPC with mutual TLS from a
// control namespace; workloads on every host; a ping matrix; hostnetctl's view of each host.
// Then everything is removed, or with --keep left up for you to use (`--down` removes it).
//   node dist/agent/testing/lab/main.js [--hosts N] [--networks multicast,flood,evpn] [--keep] [--down]
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { Lab, defaultLabDir } from './lab.js';
import { LAB_NETWORK_MODES, type LabNetworkMode, type LabNetworkSpec } from './networks.js';
import { formatMatrix } from './ping.js';
import { AGENT_PORT, CTL_ADDRESS, hostAddress, hostName } from './topology.js';

const PREFIX = 'hndemo-lab-';
const USAGE = `usage: npm run lab -- [--hosts N] [--networks MODE,...] [--keep] [--down]
  --hosts N          hosts to build (default 3)
  --networks MODES   which VXLAN networks to span the hosts with, of: multicast (a group on the
                     underlay), flood (head-end replication to a list of the other hosts), evpn
                     (BGP EVPN through an FRR in each host). Default: multicast
  --keep             leave the lab up and print how to use it
  --down             remove a lab left up with --keep`;

/** One network per mode, each with its own VNI and subnet. */
const NETWORKS: Record<LabNetworkMode, LabNetworkSpec> = {
  multicast: { name: 'blue', mode: 'multicast', vni: 100, cidr: '10.78.1.0/24', group: '239.1.1.100' },
  flood: { name: 'green', mode: 'flood', vni: 200, cidr: '10.78.2.0/24' },
  evpn: { name: 'red', mode: 'evpn', vni: 300, cidr: '10.78.3.0/24' },
};
const MODE_WORDS: Record<LabNetworkMode, (s: LabNetworkSpec) => string> = {
  multicast: (s) => `VXLAN ${s.vni}, flooding to multicast group ${s.group} on the underlay`,
  flood: (s) => `VXLAN ${s.vni}, head-end replication to the other hosts (a flood list)`,
  evpn: (s) => `VXLAN ${s.vni}, MACs and VTEPs from BGP EVPN (an FRR in each host, iBGP full mesh)`,
};

const step = (text: string): void => console.log(`\n== ${text}`);
const indent = (text: string, by = '   '): string => text.trimEnd().split('\n').map((l) => `${by}${l}`).join('\n');

function options(): { hosts: number; modes: LabNetworkMode[]; keep: boolean; down: boolean } {
  const { values } = parseArgs({
    options: { hosts: { type: 'string' }, networks: { type: 'string' }, keep: { type: 'boolean' }, down: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true, allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const hosts = Number(values.hosts ?? 3);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 14) throw new Error(`--hosts ${values.hosts}: want 1..14 (the lab numbers 15 workloads per host in a /24)\n${USAGE}`);
  const modes = (values.networks ?? 'multicast').split(',').map((m) => m.trim()).filter((m) => m);
  const bad = modes.filter((m) => !(LAB_NETWORK_MODES as readonly string[]).includes(m));
  if (bad.length || !modes.length) throw new Error(`--networks ${values.networks}: want some of ${LAB_NETWORK_MODES.join(', ')}\n${USAGE}`);
  return { hosts, modes: [...new Set(modes)] as LabNetworkMode[], keep: !!values.keep, down: !!values.down };
}

async function down(): Promise<void> {
  const r = await Lab.down(PREFIX);
  console.log(r.namespaces || r.agents || r.frr
    ? `lab ${PREFIX} removed: ${r.agents} agents and ${r.frr} FRR daemons stopped, ${r.namespaces} namespaces deleted`
    : `no lab ${PREFIX} was up`);
}

async function main(): Promise<void> {
  const o = options();
  if (o.down) return down();

  step(`hostnet lab: ${o.hosts} hosts in network namespaces, each running hostnet-agent`);
  console.log(indent([
    `underlay  10.77.0.0/24 on a bridge in ${PREFIX}underlay; each host's eth0 is a port of it`,
    ...Array.from({ length: o.hosts }, (_, k) => `host ${hostName(k + 1)}  namespace ${PREFIX}${hostName(k + 1)}, ${hostAddress(k + 1)}, agent on ${hostAddress(k + 1)}:${AGENT_PORT}`),
    `control   namespace ${PREFIX}ctl, ${CTL_ADDRESS}: pushes desired state with hostnetctl --server over mutual TLS`,
  ].join('\n')));
  const lab = await Lab.create({ prefix: PREFIX, hosts: o.hosts, log: (l) => console.log(`   ${l}`) });
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    console.log('\ninterrupted: removing the lab');
    // Again after close: a step under way at the signal may have made a namespace since.
    void lab.close().then(() => Lab.down(PREFIX)).finally(() => process.exit(130));
  };
  // on, not once: execa's signal-exit handler re-raises a signal that has no other listener
  // left, which would end this process before the lab is down (the handler ignores repeats).
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const specs = o.modes.map((m) => NETWORKS[m]);
    step('networks: one definition, rendered for each host (its own address as the local VTEP)');
    console.log(indent(specs.map((s) => `${s.name.padEnd(6)} ${s.cidr.padEnd(13)} ${MODE_WORDS[s.mode](s)}`).join('\n')));
    for (const s of specs) await lab.addNetwork(s, { apply: false });

    step('workloads: on every host, one per network (a namespace behind a veth attachment)');
    for (const s of specs) {
      for (let h = 1; h <= o.hosts; h++) await lab.addWorkload(h, `${s.name}${h}`, s.name, undefined, { apply: false });
    }
    console.log(indent(lab.workloads().map((w) => `${w.name.padEnd(8)} ${w.ip.padEnd(11)} on ${hostName(w.host)}, network ${w.network}, namespace ${w.ns}`).join('\n')));

    step(`the desired state pushed to ${hostName(1)} (every host gets its own; hostnetctl apply --wait over mTLS)`);
    const { generation: _g, ...shown } = lab.desiredState(1);
    console.log(indent(YAML.stringify(shown)));
    const t0 = Date.now();
    await lab.applyAll({ timeoutSeconds: 90 });
    console.log(`   applied to ${o.hosts} hosts; every network and attachment Ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    step('ping matrix: every workload pings every other on its network, across hosts');
    const cells = await lab.pingMatrix();
    for (const s of specs) {
      const names = lab.workloads().filter((w) => w.network === s.name).map((w) => w.name);
      console.log(indent(`${s.name} (${s.mode}):\n${formatMatrix(names, cells.filter((c) => names.includes(c.from)))}`));
    }
    const failed = cells.filter((c) => !c.result.ok);
    console.log(failed.length ? `   ${failed.length} of ${cells.length} pings FAILED` : `   all ${cells.length} pings answered`);

    for (let h = 1; h <= o.hosts; h++) {
      step(`${hostName(h)}: hostnetctl --server ${hostAddress(h)}:${AGENT_PORT} get networks / get attachments`);
      console.log(indent(await lab.ctl(h, ['get', 'networks'])));
      console.log();
      console.log(indent(await lab.ctl(h, ['get', 'attachments'])));
    }
    if (failed.length) process.exitCode = 1;
  } catch (err) {
    process.exitCode = 1;
    console.error(`\nlab failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (!interrupted) {
      if (o.keep) {
        lab.detach();
        printKeep(lab, o.hosts);
      } else {
        step('teardown: agents and FRR stopped by pid, namespaces deleted (--keep leaves the lab up)');
        await lab.close();
      }
    }
  }
}

function printKeep(lab: Lab, hosts: number): void {
  const first = lab.workloads()[0];
  const other = lab.workloads().find((w) => first && w.network === first.network && w.host !== first.host);
  const ctl = (h: number): string => `${lab.dir}/bin/hostnetctl-h${h}`;
  const tries: [string, string][] = [
    [`${ctl(1)} get networks`, `hostnetctl against h1 over mTLS (scripts for h1..h${hosts})`],
    [`${ctl(Math.min(2, hosts))} describe network ${first?.network ?? 'blue'}`, 'conditions, uplink, MTU'],
    [`${ctl(1)} watch`, 'condition changes as they happen'],
    ...(first && other ? [[`ip netns exec ${first.ns} ping ${other.ip}`, `${first.name} on ${hostName(first.host)} to ${other.name} on ${hostName(other.host)}`] as [string, string]] : []),
    [`ip -n ${PREFIX}h1 -d link show type vxlan`, 'what the agent built in h1'],
    [`bridge -n ${PREFIX}h1 fdb show`, 'where h1 forwards MACs'],
    [`less ${lab.dir}/h1/agent.log`, "h1's agent log (JSON lines)"],
  ];
  const width = Math.max(...tries.map(([c]) => c.length));
  step('the lab is up (--keep). Try, as root:');
  console.log(indent([
    ...tries.map(([c, why]) => `${c.padEnd(width)}  # ${why}`),
    '',
    `The state pushed to each host is in ${lab.dir}/hN/desired-*.json: edit a copy (with a higher`,
    'generation) and push it with hostnetctl-hN apply -f FILE --wait.',
    '',
    'Remove the lab:  npm run lab -- --down',
  ].join('\n')));
}

main().catch((err: unknown) => {
  console.error(`lab: ${err instanceof Error ? err.message : String(err)}`);
  console.error(`(a half-built lab is removed with: npm run lab -- --down; its files are in ${defaultLabDir(PREFIX)})`);
  process.exitCode = 1;
});
