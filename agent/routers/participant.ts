// Routers between this host's networks, and the isolation of the networks no router connects
// (see ruleset.ts and model.ts). While a router exists or a network is routed, the table inet
// hostnet-routers fences the networks; while any router exists:
// IPv4 forwarding on per device, only on the bridges of connected networks and on the external
// interfaces (IPv6 too on bridges of networks with an IPv6 subnet); never the host-wide
// ip_forward, which would route between every interface of the host (a routed network's
// devices forward already: the routed participant owns their switches). The table is written
// in one transaction when what it should hold changes, read back on refresh passes and
// rewritten when it was changed by hand, and removed with the last router and routed network.
// Forwarding switches hostnet turned on are recorded in the state directory (forwarding.ts) and
// turned back off when no router needs them; those it found on stay on. Runs after the kernel's
// links: the bridges exist when their switches are set.
import type { NftRunner } from '../../dataplane/nftables/run.js';
import { condition } from '../conditions/condition.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import type { SysctlBatch } from '../../dataplane/sysctl.js';
import type { ForwardingRecord } from './forwarding.js';
import { routersModel, routersOf, type RoutersModel } from './model.js';
import { ROUTERS_TABLE, routerCommands } from './ruleset.js';
import type { NftCommand } from '../../dataplane/nftables/json.js';

type RouterStep = PlannedStep & (
  | { readonly op: 'writeRouterTable' | 'removeRouterTable'; readonly commands: NftCommand[]; readonly signature: string }
  | { readonly op: 'forwardingOn'; readonly keys: string[]; readonly record: string[] }
  | { readonly op: 'forwardingOff'; readonly keys: string[]; readonly forget: string[] });

export interface RoutersOptions {
  nft: NftRunner;
  sysctl: SysctlBatch;
  record: ForwardingRecord;
}

const ABSENT = '(absent)';
const UNKNOWN = '(unknown)';

/** A listing without what changes by itself (handles, counter values): equal when the rules are. */
function normalized(items: Array<Record<string, unknown>> | null): string {
  if (!items) return ABSENT;
  return JSON.stringify(items.filter((i) => !('metainfo' in i)), (k, v: unknown) => (k === 'handle' || k === 'packets' || k === 'bytes' ? undefined : v));
}

export class RoutersParticipant implements Participant<RouterStep> {
  readonly name = 'routers';
  /** The transaction the kernel's table came from (its signature), ABSENT, or UNKNOWN: read or write it. */
  private applied: string | null = null;
  /** The table as listed right after our transaction: what a refresh compares with. */
  private snapshot: string | null = null;
  /** The devices' ifindexes and the keys last found on; a change reads the switches again. */
  private lastLook: string | null = null;
  /** Keys the kernel does not have (force_forwarding before Linux 6.17). */
  private missingKeys = new Set<string>();
  private nftError: string | null = null;
  private sysctlError: string | null = null;

  constructor(private readonly o: RoutersOptions) {}

  async plan(ctx: PassContext): Promise<ParticipantPlan<RouterStep>> {
    const model = routersModel(ctx.desired);
    const steps: RouterStep[] = [];
    const commands = routerCommands(model);
    const wantTable = commands.length > 2;
    if (!(ctx.holdTeardown && !wantTable)) {
      const signature = wantTable ? JSON.stringify(commands) : ABSENT;
      if (this.applied === null || ctx.refresh) {
        // nft failing to list (not installed, no permission) is not a reason to stop the pass: write.
        const now = await this.o.nft.list(['table', 'inet', ROUTERS_TABLE]).then(normalized, () => UNKNOWN);
        // Without a snapshot of our own (a fresh start), only "absent" is known for sure.
        if (now === ABSENT) this.applied = ABSENT;
        else if (this.snapshot === null || now !== this.snapshot) this.applied = UNKNOWN;
      }
      if (this.applied !== signature) {
        steps.push(wantTable
          ? { op: 'writeRouterTable', commands, signature, description: `write nft table inet ${ROUTERS_TABLE} (${tableWords(model)})${this.applied === UNKNOWN ? ' (not known to match)' : ''}` }
          : { op: 'removeRouterTable', commands, signature, description: `remove nft table inet ${ROUTERS_TABLE}: no router connects networks and no network is routed` });
      }
    }
    steps.push(...await this.planForwarding(ctx, model));
    return { steps: inOrder(steps), problems: [] };
  }

  private async planForwarding(ctx: PassContext, model: RoutersModel): Promise<RouterStep[]> {
    const links = new Map(ctx.observed.links.map((l) => [l.name, l.index]));
    const wanted = new Map<string, string>();
    for (const [dev, keys] of model.forwarding) if (links.has(dev)) for (const k of keys) wanted.set(k, dev);
    let record: Set<string>;
    try {
      record = await this.o.record.load();
    } catch (err) {
      // Unreadable: nothing is turned back off (it is not known what hostnet turned on).
      this.sysctlError = err instanceof Error ? err.message : String(err);
      return [];
    }
    const steps: RouterStep[] = [];
    const look = JSON.stringify([...wanted].map(([k, dev]) => `${k}@${links.get(dev)}`).sort());
    if (wanted.size > 0 && (ctx.refresh || look !== this.lastLook || this.sysctlError !== null)) {
      let values: Map<string, string | null>;
      try {
        values = await this.o.sysctl.read([...wanted.keys()]);
      } catch (err) {
        this.sysctlError = err instanceof Error ? err.message : String(err);
        return [];
      }
      this.sysctlError = null;
      const off = [...values].filter(([, v]) => v === '0').map(([k]) => k);
      this.missingKeys = new Set([...values].filter(([, v]) => v === null).map(([k]) => k));
      if (off.length > 0) {
        steps.push({ op: 'forwardingOn', keys: off, record: off, description: `turn on forwarding: ${off.join(', ')}` });
      } else this.lastLook = look;
    }
    if (!ctx.holdTeardown) {
      const stale = [...record].filter((k) => !wanted.has(k));
      if (stale.length > 0) {
        // Only where the device is still there: a device that went took its switch with it.
        const present = stale.filter((k) => links.has(k.split('/')[3] ?? ''));
        steps.push({ op: 'forwardingOff', keys: present, forget: stale, description: `turn forwarding back off (no router needs it): ${present.join(', ') || 'devices gone'}` });
      }
    }
    return steps;
  }

  async apply(plan: ParticipantPlan<RouterStep>): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    for (const step of inOrder(plan.steps)) {
      try {
        await this.applyStep(step);
        outcome.applied++;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        if (step.op === 'writeRouterTable' || step.op === 'removeRouterTable') {
          this.applied = null;
          this.nftError = error;
        } else {
          this.lastLook = null;
          this.sysctlError = error;
        }
        outcome.failures.push({ step, problem: null, error });
      }
    }
    return outcome;
  }

  private async applyStep(step: RouterStep): Promise<void> {
    switch (step.op) {
      case 'writeRouterTable':
      case 'removeRouterTable': {
        await this.o.nft.apply(step.commands, `table inet ${ROUTERS_TABLE}`);
        this.applied = step.signature;
        this.snapshot = normalized(await this.o.nft.list(['table', 'inet', ROUTERS_TABLE]));
        this.nftError = null;
        return;
      }
      case 'forwardingOn': {
        const record = await this.o.record.load();
        // Recorded before the write: a crash in between leaves a key to turn off that may be off.
        await this.o.record.save(new Set([...record, ...step.record]));
        await this.o.sysctl.write(step.keys.map((k) => [k, '1'] as const));
        this.sysctlError = null;
        this.lastLook = null;
        return;
      }
      case 'forwardingOff': {
        await this.o.sysctl.write(step.keys.map((k) => [k, '0'] as const));
        const record = await this.o.record.load();
        await this.o.record.save(new Set([...record].filter((k) => !step.forget.includes(k))));
        this.sysctlError = null;
      }
    }
  }

  report(ctx: PassContext): ResourceReport[] {
    const model = routersModel(ctx.desired);
    const links = new Set(ctx.observed.links.map((l) => l.name));
    const out: ResourceReport[] = [];
    for (const n of ctx.desired.networks) {
      const routers = routersOf(model, n.name);
      if (routers.length === 0) continue;
      const zone = routers[0]!.networks.find((x) => x.name === n.name)!;
      // A routed network has no bridge: its devices come and go with its attachments.
      const bridge = zone.routed ? null : zone.bridge;
      const missingExt = routers.flatMap((r) => (r.external && !links.has(r.external.device) ? [`${r.external.device} (router ${r.name})`] : []));
      const words = routers.map((r) => {
        const others = r.networks.filter((x) => x.name !== n.name).map((x) => x.name);
        const out = r.external ? `; out through ${r.external.device} (${natWords(r)})` : '';
        return `connected by router ${r.name} to ${others.length ? others.join(', ') : 'no other network'}${out}`;
      }).join('; ');
      const v6NoForce = [...this.missingKeys].some((k) => k === `net/ipv6/conf/${bridge}/force_forwarding`);
      const c = this.nftError !== null ? condition('Routed', false, 'RulesFailed', `the router rules are not in place: ${this.nftError}`)
        : this.sysctlError !== null ? condition('Routed', false, 'ForwardingFailed', `forwarding could not be turned on: ${this.sysctlError}`)
          : bridge !== null && !links.has(bridge) ? condition('Routed', false, 'BridgeMissing', `bridge ${bridge} does not exist yet`)
            : missingExt.length > 0 ? condition('Routed', false, 'ExternalInterfaceMissing', `external interface ${missingExt.join(', ')} does not exist; ${words}`)
              : condition('Routed', true, 'Connected', `${words}${v6NoForce ? ' (IPv6 is not forwarded: this kernel has no force_forwarding and hostnet leaves conf/all/forwarding alone)' : ''}`);
      out.push({ resource: { kind: 'network', name: n.name }, conditions: [c] });
    }
    return out;
  }
}

/**
 * Forwarding goes off before the table goes, and comes on after the table is in place: the
 * drop rules isolate before a new switch could route.
 */
function inOrder(steps: readonly RouterStep[]): RouterStep[] {
  const order = ['forwardingOff', 'writeRouterTable', 'removeRouterTable', 'forwardingOn'];
  return [...steps].sort((a, b) => order.indexOf(a.op) - order.indexOf(b.op));
}

function tableWords(model: RoutersModel): string {
  const routers = model.routers.filter((r) => r.networks.length > 0).map((r) => r.name);
  const routed = model.zones.filter((z) => z.routed).map((z) => z.name);
  return [routers.length ? `routers ${routers.join(', ')}` : '', routed.length ? `routed networks ${routed.join(', ')}` : ''].filter(Boolean).join('; ');
}

function natWords(r: { external: { nat: { mode: string; address?: string } } | null }): string {
  const nat = r.external!.nat;
  return nat.mode === 'snat' ? `SNAT to ${nat.address}` : nat.mode === 'none' ? 'no NAT' : 'masquerade';
}
