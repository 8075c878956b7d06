// hostnetctl's commands: get, describe, apply, watch. Each returns the text to print (or
// streams it, for watch) and throws CliError for anything the admin must fix.
import { readFile } from 'node:fs/promises';
import { DesiredStateParseError, parseDesiredState } from '../api/desired-state.js';
import {
  GetStatusResponse, ListIpUsageResponse, ListLeasesResponse, WatchStatusResponse, type NodeAgentClient,
} from '../api/gen/hostnet/v1/agent.js';
import type { Network } from '../api/gen/hostnet/v1/resources.js';
import { IpHolderKind, LeaseState, NodeStatus, ResourceKind, type NetworkStatus } from '../api/gen/hostnet/v1/status.js';
import { bridgeNameOf, uplinkDeviceOf } from '../naming.js';
import { capLines } from '../api/echo.js';
import { call, callWhileAlive, CliError, explain } from './client.js';
import { age, conditionsTable, find, oldest, serialize, statusWord, table, type OutputFormat } from './format.js';
import { portSecurityLines, securityGroupsText } from './security.js';
import { addressesCell, addressingLines, containerCell, kindCell } from './attachment-view.js';
import { hostCount, parseCidr } from '../../dataplane/ip.js';

export interface Ctx {
  client: NodeAgentClient;
  socket: string;
  out: (text: string) => void;
}

const get = {
  state: (ctx: Ctx) => call(ctx.client, ctx.client.getState, {}, ctx.socket),
  status: (ctx: Ctx) => call(ctx.client, ctx.client.getStatus, {}, ctx.socket),
};

function uplinkText(n: Network | undefined): string {
  const k = n?.uplink?.kind;
  const dev = n ? uplinkDeviceOf(n) : null;
  if (!k || k.$case === 'none' || !dev) return 'none';
  if (k.$case === 'vlan') return `vlan ${k.vlan.id} on ${k.vlan.parent}`;
  if (k.$case === 'vxlan') {
    const x = k.vxlan;
    const how = x.evpn ? 'evpn' : x.remotes.length > 0 ? `flood ${x.remotes.length}` : '';
    return `vxlan ${x.vni}${how ? ` ${how}` : ''}`;
  }
  return `untagged ${dev.name}`;
}

function notReadyReason(conditions: NetworkStatus['conditions']): string {
  const r = find(conditions, 'Ready');
  return r && statusWord(r.status) !== 'True' ? r.reason : '';
}

/** The node itself: its conditions (BgpReady) and BGP sessions as FRR reports them. */
export async function getNode(ctx: Ctx, format: OutputFormat): Promise<void> {
  const status = await get.status(ctx);
  const node = status.node;
  if (format === 'json' || format === 'yaml') {
    ctx.out(serialize(node ? NodeStatus.toJSON(node) : {}, format));
    return;
  }
  if (!node) {
    ctx.out('no node settings in force (no BGP)');
    return;
  }
  ctx.out(['Conditions:', indent(conditionsTable(node.conditions)), 'BGP peers:'].join('\n'));
  ctx.out(indent(table(['PEER', 'ASN', 'STATE', 'PREFIXES', 'UP'],
    node.bgpPeers.map((p) => [p.address, String(p.asn), p.state, String(p.prefixesReceived), p.uptimeSeconds ? `${p.uptimeSeconds}s` : '-']))));
}

export async function getNetworks(ctx: Ctx, format: OutputFormat): Promise<void> {
  const [state, status] = await Promise.all([get.state(ctx), get.status(ctx)]);
  if (format === 'json' || format === 'yaml') {
    ctx.out(serialize(GetStatusResponse.toJSON(status), format));
    return;
  }
  const now = new Date();
  const spec = new Map((state.state?.networks ?? []).map((n) => [n.name, n]));
  const headers = ['NAME', 'BRIDGE', 'CIDR', 'UPLINK', 'READY', 'AGE'];
  if (format === 'wide') headers.push('MTU', 'GATEWAY', 'IFINDEX', 'REASON');
  ctx.out(table(headers, status.networks.map((s) => {
    const n = spec.get(s.name);
    const row = [s.name, s.bridgeName, n?.cidr ?? '-', uplinkText(n), statusWord(find(s.conditions, 'Ready')?.status), age(oldest(s.conditions), now)];
    if (format === 'wide') row.push(s.mtu ? String(s.mtu) : n?.mtu ? String(n.mtu) : '-', n?.gateway || '-', String(s.bridgeIfindex || '-'), notReadyReason(s.conditions) || '-');
    return row;
  })));
}

export async function getAttachments(ctx: Ctx, format: OutputFormat): Promise<void> {
  const [state, status] = await Promise.all([get.state(ctx), get.status(ctx)]);
  if (format === 'json' || format === 'yaml') {
    ctx.out(serialize(GetStatusResponse.toJSON(status), format));
    return;
  }
  const now = new Date();
  const spec = new Map((state.state?.attachments ?? []).map((a) => [a.name, a]));
  const headers = ['NAME', 'NETWORK', 'KIND', 'IFNAME', 'ADDRESSES', 'READY', 'AGE', 'CONTAINER'];
  if (format === 'wide') headers.push('MAC', 'IFINDEX', 'CONFIGURED', 'NEGOTIATED', 'REASON');
  ctx.out(table(headers, status.attachments.map((s) => {
    const a = spec.get(s.name);
    const row = [s.name, s.network, kindCell(a, s), s.ifName, addressesCell(s), statusWord(find(s.conditions, 'Ready')?.status),
      age(oldest(s.conditions), now), containerCell(s, format === 'wide')];
    if (format === 'wide') {
      row.push(s.mac, String(s.ifindex || '-'), statusWord(find(s.conditions, 'Configured')?.status),
        statusWord(find(s.conditions, 'Negotiated')?.status), notReadyReason(s.conditions) || '-');
    }
    return row;
  })));
}

export async function getLeases(ctx: Ctx, format: OutputFormat, network = ''): Promise<void> {
  const res = await call(ctx.client, ctx.client.listLeases, { network }, ctx.socket);
  if (format === 'json' || format === 'yaml') {
    ctx.out(serialize(ListLeasesResponse.toJSON(res), format));
    return;
  }
  const now = new Date();
  ctx.out(table(['NETWORK', 'IP', 'MAC', 'HOSTNAME', 'STATE', 'EXPIRES'], res.leases.map((l) => [
    l.network, l.ip, l.mac, l.hostname || '-', LeaseState[l.state]?.replace('LEASE_STATE_', '') ?? '-',
    l.expiresAt ? (l.expiresAt > now ? `in ${age(now, l.expiresAt)}` : 'expired') : '-',
  ])));
}

export async function getIps(ctx: Ctx, format: OutputFormat, network = ''): Promise<void> {
  const res = await call(ctx.client, ctx.client.listIpUsage, { network }, ctx.socket);
  if (format === 'json' || format === 'yaml') {
    ctx.out(serialize(ListIpUsageResponse.toJSON(res), format));
    return;
  }
  const headers = ['NETWORK', 'IP', 'HOLDER', 'NAME', 'MANAGED'];
  if (format === 'wide') headers.push('MAC');
  const rows = res.networks.flatMap((n) => n.ips.map((u) => {
    const row = [n.network, u.ip, IpHolderKind[u.holderKind]?.replace('IP_HOLDER_KIND_', '').toLowerCase() ?? '-', u.holderName, u.managed ? 'yes' : 'no'];
    if (format === 'wide') row.push(u.mac || '-');
    return row;
  }));
  const summary = table(['NETWORK', 'CIDR', 'TOTAL', 'USED', 'AVAILABLE'], res.networks.map((n) => {
    // Past 2^53 the doubles of the API are rounded: the exact figures come from the CIDR.
    const exact = exactCounts(n.cidr, n.used);
    return [n.network, n.cidr, exact?.total ?? String(n.total), String(n.used), exact?.available ?? String(n.available)];
  }));
  ctx.out(`${table(headers, rows)}\n\n${summary}`);
}

/** `get securitygroups`: from the stored desired state (members are attachments naming the group). */
export async function getSecurityGroups(ctx: Ctx, format: OutputFormat): Promise<void> {
  const state = await get.state(ctx);
  ctx.out(securityGroupsText(state.state, format));
}

export async function describeNetwork(ctx: Ctx, name: string): Promise<void> {
  const [state, status] = await Promise.all([get.state(ctx), get.status(ctx)]);
  const n = state.state?.networks.find((x) => x.name === name);
  const s = status.networks.find((x) => x.name === name);
  if (!n || !s) throw new CliError(`network "${name}" not found`);
  ctx.out([
    `Name:        ${n.name}`,
    `Bridge:      ${bridgeNameOf(n)}${n.importedBridge ? ' (imported)' : ''} (ifindex ${s.bridgeIfindex || 'none'})`,
    `CIDR:        ${n.cidr}`,
    `Gateway:     ${n.gateway || '-'}${n.gatewayOnBridge ? ' (on the bridge)' : ''}`,
    `MTU:         ${s.mtu || n.mtu || '-'}`,
    `Uplink:      ${uplinkText(n)}${s.uplinkName ? ` (${s.uplinkName})` : ''}`,
    ...(s.remoteVteps.length > 0 ? [`Remote VTEPs: ${s.remoteVteps.join(', ')}`] : []),
    `DHCP:        ${n.dhcp?.enabled ? 'enabled' : 'disabled'}`,
    `Attachments: ${state.state?.attachments.filter((a) => a.network === name).map((a) => a.name).join(', ') || '-'}`,
    `Generation:  ${status.observedGeneration} observed, ${status.generation} desired`,
    'Conditions:',
    indent(conditionsTable(s.conditions)),
  ].join('\n'));
}

/** describe's label column: as wide as its longest label ("Workload IF:") and a space. */
const label = (name: string): string => name.padEnd(14);

export async function describeAttachment(ctx: Ctx, name: string): Promise<void> {
  const [state, status] = await Promise.all([get.state(ctx), get.status(ctx)]);
  // A hostnet-cni attachment may be known by its status alone (it lives beside the desired state).
  const a = state.state?.attachments.find((x) => x.name === name);
  const s = status.attachments.find((x) => x.name === name);
  if (!s) throw new CliError(`attachment "${name}" not found`);
  const k = a?.kind;
  const kind = k?.$case === 'veth' ? `veth (peer ${k.veth.peerIfName} in ${k.veth.peerNetns})`
    : k?.$case === 'tap' ? 'tap'
      : s.workloadIfName ? `veth (peer ${s.workloadIfName})` : '-';
  ctx.out([
    `${label('Name:')}${s.name}`,
    `${label('Network:')}${s.network}`,
    `${label('Kind:')}${kind}`,
    `${label('Interface:')}${s.ifName} (ifindex ${s.ifindex || 'none'})`,
    `${label('MAC:')}${s.mac}`,
    `${label('MTU:')}${s.mtu || '-'}`,
    ...addressingLines(a, s, label),
    `${label('Generation:')}${status.observedGeneration} observed, ${status.generation} desired`,
    ...(a ? portSecurityLines(a, s) : []),
    'Conditions:',
    indent(conditionsTable(s.conditions)),
  ].join('\n'));
}

const indent = (text: string): string => text.split('\n').map((l) => `  ${l}`).join('\n');

export interface ApplyOptions {
  dryRun: boolean;
  /** Follow the agent until the applied generation is observed and everything is Ready. */
  wait: boolean;
  /** How long --wait waits for Ready (the Apply itself waits as long as the agent answers). */
  timeoutMs: number;
  /** Progress lines (stderr), so a long apply is visibly alive. */
  note?: (text: string) => void;
}

export async function apply(ctx: Ctx, file: string, opts: ApplyOptions): Promise<void> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`read ${file}: ${(err as Error).message}`);
  }
  let state;
  try {
    state = parseDesiredState(text, { format: file.endsWith('.json') ? 'json' : 'yaml', source: file });
  } catch (err) {
    if (err instanceof DesiredStateParseError) throw new CliError(err.message);
    throw err;
  }
  let lastNote = 0;
  const res = await callWhileAlive(ctx.client, ctx.client.apply, { state, dryRun: opts.dryRun }, ctx.socket, (p) => {
    // One line every 10 s at most: the agent answers, so the apply is still going.
    if (p.elapsedMs - lastNote < 10_000) return;
    lastNote = p.elapsedMs;
    opts.note?.(`still applying after ${Math.round(p.elapsedMs / 1000)} s (the agent answers; stored generation ${p.generation}, last completed pass ${p.observedGeneration})`);
  });
  const lines = res.plan.length ? res.plan.map((l) => `  ${l}`) : ['  (nothing to do)'];
  ctx.out(opts.dryRun ? [`dry run against generation ${res.generation}, plan:`, ...lines].join('\n') : [`applied generation ${res.generation}:`, ...lines].join('\n'));
  if (opts.wait && !opts.dryRun) await waitReady(ctx, res.generation, opts.timeoutMs);
}

/** What keeps a status from being done: not yet observed, or resources not Ready. */
export function notReady(status: GetStatusResponse, generation: number): string[] {
  if (status.observedGeneration < generation) return [`generation ${generation} not yet reconciled (last completed pass: ${status.observedGeneration})`];
  const line = (kind: string, name: string, conditions: NetworkStatus['conditions']): string | null => {
    const ready = find(conditions, 'Ready');
    if (ready && statusWord(ready.status) === 'True') return null;
    const why = conditions.find((c) => c.type !== 'Ready' && statusWord(c.status) !== 'True') ?? ready;
    return `${kind} ${name}: ${why ? `${why.type} ${statusWord(why.status)} ${why.reason}${why.message ? `: ${why.message}` : ''}` : 'no conditions yet'}`;
  };
  return [
    ...status.networks.map((n) => line('network', n.name, n.conditions)),
    ...status.attachments.map((a) => line('attachment', a.name, a.conditions)),
    // The node's own conditions (BgpReady: every BGP session established).
    ...(status.node ? [line('node', 'node', status.node.conditions)] : []),
  ].filter((l): l is string => l !== null);
}

/** Polls GetStatus until `generation` is observed and all is Ready; exit code 2 naming what is not, at the timeout. */
async function waitReady(ctx: Ctx, generation: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const missing = notReady(await get.status(ctx), generation);
    if (missing.length === 0) {
      ctx.out(`generation ${generation}: all networks and attachments Ready`);
      return;
    }
    if (Date.now() >= until) {
      throw new CliError(`generation ${generation} was applied, but after ${Math.round(timeoutMs / 1000)} s not everything is Ready:\n${capLines(missing).map((l) => `  ${l}`).join('\n')}`, 2);
    }
    await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, until - Date.now()))));
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Streams condition transitions until interrupted (or the agent goes away). */
export function watch(ctx: Ctx, format: OutputFormat): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = ctx.client.watchStatus({ sendInitial: true });
    if (format === 'table' || format === 'wide') ctx.out(table(['TIME', 'RESOURCE', 'TYPE', 'STATUS', 'REASON', 'MESSAGE'], []));
    stream.on('data', (m: WatchStatusResponse) => {
      if (format === 'json') return ctx.out(JSON.stringify(WatchStatusResponse.toJSON(m)));
      if (format === 'yaml') return ctx.out(`---\n${serialize(WatchStatusResponse.toJSON(m), 'yaml')}`);
      const c = m.condition;
      const kind = m.resourceKind === ResourceKind.RESOURCE_KIND_NETWORK ? 'network' : m.resourceKind === ResourceKind.RESOURCE_KIND_NODE ? 'node' : 'attachment';
      ctx.out([c?.lastTransitionTime?.toISOString() ?? '-', `${kind}/${m.resourceName}`, c?.type ?? '-', statusWord(c?.status), c?.reason ?? '', c?.message ?? ''].join('   '));
    });
    stream.on('error', (err: Parameters<typeof explain>[0]) => (err.code === 1 /* CANCELLED */ ? resolve() : reject(explain(err, ctx.socket))));
    stream.on('end', resolve);
    process.once('SIGINT', () => stream.cancel());
  });
}

/** Host count and what is left, exactly (bigint), for blocks too large for a double. */
function exactCounts(cidrText: string, used: number): { total: string; available: string } | null {
  const cidr = parseCidr(cidrText);
  if (!cidr) return null;
  const total = hostCount(cidr);
  if (total <= BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const left = total - BigInt(used);
  return { total: total.toString(), available: (left > 0n ? left : 0n).toString() };
}
