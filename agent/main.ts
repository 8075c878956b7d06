#!/usr/bin/env node
// hostnet-agent: loads the stored desired state, re-adopts the devices that carry its marker
// (planning against the kernel finds them: nothing is deleted or recreated), converges,
// serves gRPC on its unix socket, then tells systemd it is ready. SIGTERM stops it cleanly;
// the devices stay as they are.
import path from 'node:path';
import { pino } from 'pino';
import { openIproute2Dataplane } from '../dataplane/iproute2/backend.js';
import { openNetlinkDataplane } from '../dataplane/netlink/backend.js';
import { ConfigError, HelpRequested, loadAgentConfig, type AgentConfig } from './config.js';
import { setSocketGroup } from './server/socket-group.js';
import { DhcpHost, neighbourWriter } from './dhcp/host.js';
import { DhcpParticipant } from './dhcp/participant.js';
import { Dhcp6Host, withDhcp6Leases } from './dhcp/host6.js';
import { servesDhcp6 } from './dhcp/config6.js';
import { FirewallParticipant } from './firewall/participant.js';
import { enableBridgeNetfilter } from '../dataplane/bridge-netfilter.js';
import { nftRunner } from '../dataplane/nftables/run.js';
import { conntrackTool } from '../dataplane/conntrack.js';
import { setSysctl, sysctlBatch } from '../dataplane/sysctl.js';
import { UplinkGuardParticipant } from './uplink-guard/participant.js';
import { KernelLinksParticipant } from './kernel/participant.js';
import { RoutersParticipant } from './routers/participant.js';
import { RoutedParticipant } from './routed/participant.js';
import { isRouted } from './desired/routed.js';
import { ForwardingParticipant } from './forwarding/participant.js';
import { ForwardingRecord } from './forwarding/record.js';
import { routerForwarding } from './routers/forwarding.js';
import { FloodListParticipant } from './vxlan/flood-participant.js';
import { BgpParticipant } from './frr/participant.js';
import { PeerForwarding, routeDeviceIn } from './frr/peer-forwarding.js';
import { frrInstance } from './frr/instance.js';
import { IpamParticipant } from './ipam/participant.js';
import { AutoChoiceStore } from './ipam/store.js';
import type { HeldLease } from './ipam/assignments.js';
import { WorkloadAddressesParticipant } from './workload/participant.js';
import { RouterAdvertisementParticipant } from './ra/participant.js';
import { RouterAdvertiser } from '../dhcp/ra/advertiser.js';
import { CniAttachmentStore } from './cni/store.js';
import { EffectiveState } from './cni/effective.js';
import { CniBackend } from './cni/backend.js';
import type { Dataplane } from '../dataplane/types.js';
import type { Participant } from './reconcile/participant.js';
import { DesiredStateStore } from './desired/store.js';
import { startAgentMetrics } from './metrics/agent-metrics.js';
import { Reconciler } from './reconcile/reconciler.js';
import { sdNotify, startWatchdog } from './sd-notify.js';
import { statusLine } from './status-line.js';
import { WakeUp } from './wake-up.js';
import { NodeAgent } from './server/node-agent.js';
import { SERVICE_NAME, startAgentServer } from './server/server.js';

async function run(config: AgentConfig): Promise<void> {
  const log = pino({ level: config.logLevel, base: { pid: process.pid } });
  log.info({ config }, 'starting hostnet-agent');

  const store = new DesiredStateStore(config.stateDir);
  const loaded = await store.load();
  // Attachments containers made through hostnet-cni, beside the control plane's state.
  const cniStore = new CniAttachmentStore(config.stateDir);
  const cniProblem = await cniStore.load();
  if (cniProblem) log.error({ error: cniProblem }, 'CNI attachments unreadable');
  const effective = new EffectiveState(() => store.state, cniStore);
  if (loaded.source === 'corrupt') log.error({ error: loaded.error }, 'stored desired state unreadable: adopting only, no teardown until a new state is applied');
  else log.info({ source: loaded.source, generation: loaded.state.generation, file: store.file }, 'desired state loaded');

  const dp = config.dataplane === 'iproute2' ? await openIproute2Dataplane(config.netns) : await openNetlinkDataplane(config.netns);
  // Addresses first: every later participant (and DHCP) hands out what it chose and stored.
  const ipam: IpamParticipant = new IpamParticipant({
    store: new AutoChoiceStore(config.stateDir),
    leases: (network): HeldLease[] => dhcp.heldLeases(network),
    warn: (msg, fields) => log.warn(fields, msg),
  });
  const dhcp: DhcpHost = new DhcpHost({
    netns: config.netns, stateDir: config.stateDir, neighbours: neighbourWriter(dp), log: log.child({ component: 'dhcp' }),
    assignments: (desired) => ipam.assignmentsFor(desired),
    // A protected workload's new lease is allowed by the firewall before the ACK goes out.
    // A lease on a routed network needs its host route at once.
    onLeaseCommitted: async (network, lease) => {
      if (firewall.concerns(network, lease.mac)) await reconciler.requestResync('dhcp lease');
      else if (effective.current().networks.some((n) => n.name === network && isRouted(n))) await reconciler.requestResync('dhcp lease on a routed network');
    },
  });
  const dhcp6 = new Dhcp6Host({
    netns: config.netns, stateDir: config.stateDir, log: log.child({ component: 'dhcp6' }),
    assignments: (desired) => ipam.assignmentsFor(desired),
    onLeaseCommitted: async (network, lease) => {
      if (lease.mac && firewall.concerns(network, lease.mac)) await reconciler.requestResync('dhcpv6 lease');
    },
  });
  const leaseExpiry = new WakeUp(() => void reconciler.requestResync('lease expiry'));
  // Before the first pass: the firewall's first ruleset must know the leases workloads hold.
  await dhcp.preloadLeases(effective.current());
  // HOSTNET_NFT: another nft program (tests use one that fails on demand).
  const firewall = new FirewallParticipant(nftRunner(config.netns, process.env['HOSTNET_NFT'] ?? 'nft'), {
    // What DHCPv4 and DHCPv6 have handed to each MAC.
    addressBook: (desired) => withDhcp6Leases(dhcp.addressBook(desired), dhcp6),
    assignedAddresses: (desired) => {
      const assigned = ipam.assignmentsFor(desired);
      return (attachment) => assigned.addressesOf(attachment);
    },
    enableBridgeNetfilter: () => enableBridgeNetfilter(config.netns),
    conntrack: conntrackTool(config.netns),
    warn: (msg, fields) => log.warn(fields, msg),
    debug: (msg, fields) => log.debug(fields, msg),
    wakeAt: (at) => leaseExpiry.at(at),
  });
  // The reconcile participants, in the order a pass runs them: address management first (the
  // others hand out what it chose), the firewall (a new protected port is filtered before its
  // device joins a bridge), the uplink guard (DHCP and RAs of a network spanning hosts never
  // cross its uplink, in place before any server answers), router advertisements (a network
  // that goes says so before its bridge does), the kernel's links and addresses, the addresses inside workloads (on the veth
  // peers the kernel participant made), then DHCP (its servers bind to the bridges and their
  // addresses).
  const uplinkGuard = new UplinkGuardParticipant(nftRunner(config.netns, process.env['HOSTNET_NFT'] ?? 'nft'));
  const kernel = new KernelLinksParticipant(dp, {
    intentsFile: path.join(config.stateDir, 'creating.json'),
    // A workload namespace that appears is acted on at once, not at the next periodic resync.
    onNetnsChange: (why) => void reconciler.requestResync(why),
    warn: (msg, fields) => log.warn(fields, msg),
    setSysctl: (key, value) => setSysctl(config.netns, key, value),
  });
  // The recorded forwarding switches on devices hostnet did not make, for every owner: the
  // routers' bridges and external interfaces, the devices towards the BGP peers while a network
  // is routed (fabric -> workload). One record; the older agents' two are merged into it.
  const forwarding = new ForwardingParticipant({
    sysctl: sysctlBatch(config.netns),
    record: new ForwardingRecord(path.join(config.stateDir, 'forwarding.json'), ['routers-forwarding.json', 'bgp-forwarding.json'].map((f) => path.join(config.stateDir, f))),
    providers: [routerForwarding, new PeerForwarding(routeDeviceIn(config.netns))],
  });
  // Routers between networks: the nft table inet hostnet-routers (isolation between the rest,
  // NAT); their switches are the forwarding participant's.
  const routers = new RoutersParticipant({ nft: nftRunner(config.netns, process.env['HOSTNET_NFT'] ?? 'nft'), forwarding });
  // Routed networks: a host route per workload address through its device, forwarding and
  // proxy ARP on the devices; a route deleted by hand asks for a pass.
  const routed = new RoutedParticipant({
    dp, sysctl: sysctlBatch(config.netns),
    addresses: (desired) => {
      const assigned = ipam.assignmentsFor(desired);
      const book = dhcp.addressBook(desired);
      return {
        assigned: (a) => assigned.addressesOf(a.name),
        leased: (network, mac) => book.addressesOf(network, mac),
        nextExpiry: () => book.nextExpiry(),
      };
    },
    onDrift: (why) => void reconciler.requestResync(why),
    wakeAt: (at) => leaseExpiry.at(at),
    warn: (msg, fields) => log.warn(fields, msg),
  });
  // VXLAN flood lists (uplink remotes): one all-zeros FDB entry per remote on the device the
  // links participant made; an entry changed by hand asks for a pass.
  const flood = new FloodListParticipant({ dp, onDrift: (why) => void reconciler.requestResync(why), warn: (msg, fields) => log.warn(fields, msg) });
  // BGP EVPN through FRR (node.bgp): its daemons run in the agent's namespace and outlive it.
  const bgp = new BgpParticipant({
    instance: frrInstance(config.frr.pathspace, config.netns),
    supervise: config.frr.supervise,
    // A session, a VNI or a daemon changed: the report would say something new.
    onStateChange: (why) => void reconciler.requestResync(why),
    warn: (msg, fields) => log.warn(fields, msg),
    // Routed networks' host routes are announced: the same addresses the routed participant routes.
    addresses: (desired) => {
      const assigned = ipam.assignmentsFor(desired);
      const book = dhcp.addressBook(desired);
      return { assigned: (a) => assigned.addressesOf(a.name), leased: (network, mac) => book.addressesOf(network, mac) };
    },
  });
  const openDataplane = (netns: string | null): Promise<Dataplane> =>
    config.dataplane === 'iproute2' ? openIproute2Dataplane(netns) : openNetlinkDataplane(netns);
  const workload = new WorkloadAddressesParticipant({
    assignments: (desired) => ipam.assignmentsFor(desired),
    openIn: (netns) => openDataplane(netns),
    setSysctl,
    warn: (msg, fields) => log.warn(fields, msg),
  });
  const ra = new RouterAdvertisementParticipant(async (raConfig) => {
    const advertiser = new RouterAdvertiser({
      netns: config.netns, config: raConfig,
      onError: (err) => log.debug({ device: raConfig.device, err: err.message }, 'router advertisement problem'),
      // Its condition changes (e.g. advertising once the bridge has its link-local address).
      onStateChange: () => void reconciler.requestResync('router advertisement state'),
    });
    advertiser.start();
    return advertiser;
  });
  // forwarding right after routers: a switch comes on only once the routers' table isolates (the
  // routers turn forwarding off themselves, through it, before their table goes). The peer
  // lookup needs only the kernel's routes, not the bgp participant.
  const participants: Participant[] = [ipam, firewall, uplinkGuard, ra, kernel, routed, routers, forwarding, flood, bgp, workload, new DhcpParticipant(dhcp), new DhcpParticipant(dhcp6, servesDhcp6, 'dhcp6')];
  const reconciler = new Reconciler(dp, {
    participants,
    desired: () => effective.current(),
    resyncIntervalMs: config.resyncIntervalSeconds * 1000,
    holdTeardown: loaded.source === 'corrupt',
    logger: log,
  });
  const agent = new NodeAgent(store, reconciler, dp, { dhcp, portSecurity: firewall, addresses: (desired) => ipam.assignmentsFor(desired), effective, dhcp6 });
  const cni = new CniBackend({ store: cniStore, effective, controlPlane: () => store.state, reconciler, dp, exclusive: (fn) => agent.exclusive(fn) });
  // The socket first: a second agent must fail here, before it touches the kernel.
  // --listen: also gRPC over TCP with mutual TLS (config.ts insists on the TLS files with it).
  const remote = config.listen !== null && config.tls !== null ? { address: config.listen, tls: config.tls } : null;
  const server = await startAgentServer(agent, config.socket, log, cni, remote);
  // Until then the socket is root's group: narrower, never wider, than asked.
  if (config.socketGroup !== null) await setSocketGroup(config.socket, config.socketGroup);
  log.info({ socket: config.socket, group: config.socketGroup ?? undefined }, 'listening');
  // Metrics before the first pass: it is counted, and every DHCP server is seen while it runs.
  const metrics = config.metricsAddress === null ? null : await startAgentMetrics({
    address: config.metricsAddress, reconciler, dhcp, portSecurity: firewall, desiredGeneration: () => store.state.generation,
    onError: (err) => log.warn({ err: err.message }, 'metrics endpoint problem'),
  });
  if (metrics) log.info({ host: metrics.address.host, port: metrics.address.port }, 'serving metrics');
  await reconciler.start();
  const first = await reconciler.reconcile('start');
  log.info({ actions: first.plan.actions.length, problems: first.problems.length, durationMs: Math.round(first.durationMs) }, 'converged after start');
  server.health.setStatus('', 'SERVING');
  server.health.setStatus(SERVICE_NAME, 'SERVING');
  // STATUS= (systemctl status): the first pass's outcome with READY=1, then each pass that changes it.
  let status = statusLine(first, effective.current());
  sdNotify('READY=1');
  sdNotify(`STATUS=${status}`);
  reconciler.onPass((pass) => {
    const next = statusLine(pass, effective.current());
    if (next === status) return;
    status = next;
    try { sdNotify(`STATUS=${status}`); } catch (err) { log.warn({ err }, 'status notify failed'); }
  });
  const stopWatchdog = startWatchdog(process.env, (err) => log.error({ err }, 'watchdog notify failed'));

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping (devices stay)');
    sdNotify('STOPPING=1');
    stopWatchdog();
    server.health.setStatus('', 'NOT_SERVING');
    await server.close();
    await metrics?.close();
    leaseExpiry.cancel();
    await reconciler.close();
    await dp.close();
    log.info({}, 'stopped');
    log.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // SIGHUP: an admin's "look again now" (a full pass, like the periodic resync).
  process.on('SIGHUP', () => void reconciler.requestResync('SIGHUP', true));
}

let config: AgentConfig;
try {
  config = loadAgentConfig(process.argv.slice(2));
} catch (err) {
  if (err instanceof HelpRequested) {
    process.stdout.write(`${err.message}\n`);
    process.exit(0);
  }
  process.stderr.write(`hostnet-agent: ${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(2);
}
run(config).catch((err: unknown) => {
  process.stderr.write(`hostnet-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
