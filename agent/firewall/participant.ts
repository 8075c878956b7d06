// Port security as a reconcile participant: the nftables tables "hostnet" (bridge, inet and
// arp: ruleset.ts) follow the protected ports and the security groups, one transaction per pass.
//
// It runs FIRST in a pass: rules match devices by name, so a new protected port is filtered
// before the kernel participant creates it and puts it on the bridge, and there is never a
// moment where it forwards unfiltered. For the same reason a port's rules stay while its
// device exists: they go in the pass after the device is gone.
//
// The first pass of a process (and every pass asked to refresh) replaces both tables whole in
// one transaction, so whatever a crash or a hand edit left is replaced atomically, and the
// old rules hold until the commit: no window across a restart or kill -9. Later passes send
// only what changed. A failed transaction changes nothing: the previous rules stay in force
// and the ports it was for report SecurityApplied False with nft's reason.
import type { DataplaneError } from '../../dataplane/errors.js';
import type { NftCommand } from '../../dataplane/nftables/json.js';
import type { NftRunner } from '../../dataplane/nftables/run.js';
import type { ConntrackTool } from '../../dataplane/conntrack.js';
import { disallowedFlows } from './flow-check.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { condition } from '../conditions/condition.js';
import { bridgeNameOf, ifNameOf } from '../naming.js';
import type {
  ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, Problem, ResourceReport,
} from '../reconcile/participant.js';
import { portDrops, readCounterSeeds, type CounterValue, type PortDrops } from './counters.js';
import { PortIds } from './port-ids.js';
import type { DhcpAddressBook } from '../dhcp/host.js';
import { isProtected, protectedPorts, type AssignedAddresses } from './ports.js';
import { RulesetBuilder, TABLE, type PortWithId, type Ruleset, type TableName } from './ruleset.js';
import { bridgeZones } from './zones.js';
import { fullCommands, removeCommands, updateCommands } from './transaction.js';

export interface FirewallStep extends PlannedStep {
  /**
   * replace: the tables whole, counters carried over (the first pass of a process, a
   * refresh, after a failure, when there were no tables); update: only what changed
   * (`commands`); remove: no protected port, no tables.
   */
  mode: 'replace' | 'update' | 'remove';
  /** null: no protected port, no tables. */
  ruleset: Ruleset | null;
  /** The input the ruleset was built from (an unchanged input needs no pass). */
  fingerprint: string;
  ports: PortWithId[];
  commands: NftCommand[];
  /** Conntrack zone by bridge (zones.ts) of this desired state. */
  zones: ReadonlyMap<string, number>;
}

export interface FirewallOptions {
  /** What DHCP holds for workloads as of a desired state (leases, reservations, servers). */
  addressBook: (desired: DesiredState) => DhcpAddressBook;
  /** Every attachment's static and auto addresses as of a desired state (agent/ipam). */
  assignedAddresses: (desired: DesiredState) => AssignedAddresses;
  /** Turns br_netfilter on in the agent's namespace; throws when it cannot. */
  enableBridgeNetfilter: () => Promise<void>;
  /** The agent namespace's conntrack: flows the new rules no longer allow are ended. */
  conntrack?: ConntrackTool;
  warn?: (msg: string, fields: Record<string, unknown>) => void;
  debug?: (msg: string, fields: Record<string, unknown>) => void;
  /** Asks for a pass at this time (ms since the epoch): a lease allowed as a source expires. */
  wakeAt?: (at: number) => void;
}

/** Our tables, in transaction order. */
const TABLES: readonly TableName[] = ['bridge', 'inet', 'arp'];

/** The last outcome for the ports of a transaction. */
type Outcome = { ok: true } | { ok: false; reason: string; message: string };

export class FirewallParticipant implements Participant<FirewallStep> {
  readonly name = 'firewall';
  /** What the kernel holds: undefined before this process's first transaction, null for no tables. */
  private applied: Ruleset | null | undefined = undefined;
  private appliedPorts: PortWithId[] = [];
  private appliedFingerprint = '';
  private lastPlanMs = 0;
  private readonly ids = new PortIds();
  private readonly builder = new RulesetBuilder();
  private outcome: Outcome = { ok: true };
  private bridgeNetfilter: Outcome | null = null;

  constructor(private readonly nft: NftRunner, private readonly options: FirewallOptions) {}

  /** Whether a DHCP change for this MAC on this network could change the ruleset. */
  concerns(network: string, mac: string): boolean {
    return this.appliedPorts.some((p) => p.network === network && p.macs.includes(mac.toLowerCase()));
  }

  async plan(ctx: PassContext): Promise<ParticipantPlan<FirewallStep>> {
    const started = performance.now();
    const plan = await this.planOnce(ctx);
    this.lastPlanMs = performance.now() - started;
    return plan;
  }

  private async planOnce(ctx: PassContext): Promise<ParticipantPlan<FirewallStep>> {
    const book = this.options.addressBook(ctx.desired);
    const desired = protectedPorts(ctx.desired, book, this.options.assignedAddresses(ctx.desired));
    // An expired lease stops being an allowed source when it expires, not at the next resync.
    const expiry = desired.length > 0 ? book.nextExpiry() : undefined;
    if (expiry !== undefined) this.options.wakeAt?.(expiry);
    const wanted = new Set(desired.map((p) => p.attachment));
    const wantedDevices = new Set(desired.map((p) => p.ifName));
    const named = new Set(ctx.desired.attachments.map((a) => a.name));
    const present = new Set(ctx.observed.links.map((l) => l.name));
    // A deleted attachment's port keeps its rules while its device is still there (the
    // kernel participant deletes it after us) or while teardown is held; a port whose
    // protection was turned off loses them at once, as asked.
    const lingering = this.appliedPorts.filter((p) => !wanted.has(p.attachment) && !wantedDevices.has(p.ifName)
      && (ctx.holdTeardown || (present.has(p.ifName) && !named.has(p.attachment))));
    const all = [...desired, ...lingering];
    const ids = this.ids.assign(all.map((p) => p.attachment));
    const ports: PortWithId[] = all.map((p) => ({ ...p, id: ids.get(p.attachment)! }));
    // Whatever the kernel holds is unknown on the first pass, may have drifted when a refresh
    // is asked or a transaction failed: the tables are then replaced whole, which repairs
    // anything (nft takes that in less than half the time of flushing and refilling them in
    // place: flushing 18,000 rules is what costs).
    const mode: FirewallStep['mode'] = this.applied === undefined || this.applied === null || ctx.refresh || !this.outcome.ok ? 'replace' : 'update';

    if (ports.length === 0) {
      // The stored state could not be read (teardown held): keep whatever protects the
      // ports now rather than open them all.
      if (ctx.holdTeardown) return { steps: [], problems: [] };
      // Nothing to protect: no tables at all (no hooks on anyone's packets). A first pass
      // removes what an earlier run may have left, if it left anything.
      if (this.applied === undefined && !(await this.tablesExist())) this.applied = null;
      if (this.applied === null) return { steps: [], problems: [] };
      return { steps: [{ op: 'removeFirewall', description: 'remove port security tables: no protected port', mode: 'remove', ruleset: null, ports, commands: [], fingerprint: '', zones: new Map() }], problems: [] };
    }
    // Most passes change nothing here (a kernel event, a lease renewed): same input, no work.
    const keys = ports.map((p) => JSON.stringify(p));
    const zones = bridgeZones(ctx.desired.networks);
    const fingerprint = `${keys.join('\n')}\n${JSON.stringify(ctx.desired.securityGroups)}\n${JSON.stringify([...zones])}`;
    if (mode === 'update' && fingerprint === this.appliedFingerprint) return { steps: [], problems: [] };
    const ruleset = this.builder.build(ports, ctx.desired.securityGroups, keys, zones);
    const prev = this.applied ?? null;
    const commands = mode === 'update' && prev ? TABLES.flatMap((t) => updateCommands(prev[t], ruleset[t])) : [];
    if (mode === 'update' && commands.length === 0) return { steps: [], problems: [] };
    const description = mode === 'update'
      ? `update port security ruleset: ${commands.length} nft command(s)`
      : `load port security ruleset: ${ports.length} protected port(s), ${ctx.desired.securityGroups.length} security group(s)`;
    return { steps: [{ op: mode === 'update' ? 'updateFirewall' : 'loadFirewall', description, mode, ruleset, ports, commands, fingerprint, zones }], problems: [] };
  }

  async apply(plan: ParticipantPlan<FirewallStep>, ctx: PassContext): Promise<ApplyOutcome> {
    const outcome = await this.applyStep(plan.steps[0], ctx);
    return { ...outcome, holds: this.unprotected(ctx) };
  }

  /**
   * Protected attachments whose rules are not in force (a new port while transactions fail):
   * the kernel participant creates nothing for them and keeps an existing device down.
   */
  private unprotected(ctx: PassContext): Problem[] {
    const inForce = new Set(this.appliedPorts.map((p) => `${p.attachment}/${p.ifName}`));
    const why = this.outcome.ok ? 'its port security rules are not loaded yet' : this.outcome.message;
    return ctx.desired.attachments
      .filter((a) => isProtected(a) && !inForce.has(`${a.name}/${ifNameOf(a)}`))
      .map((a) => ({
        resource: { kind: 'attachment' as const, name: a.name }, condition: 'Configured', reason: 'PortSecurityNotApplied',
        message: `kept down until its port security is in force: ${why}`,
      }));
  }

  private async applyStep(step: FirewallStep | undefined, ctx: PassContext): Promise<ApplyOutcome> {
    if (!step) return { applied: 0, failures: [], kernelChanged: false };
    try {
      // Checked on full loads (first pass, refresh) and after a failure, not on every change.
      // Routed ports need no br_netfilter: their packets are in the inet hooks anyway.
      if (step.mode !== 'update' || !this.bridgeNetfilter?.ok) await this.ensureBridgeNetfilter(step.ports.some((p) => !p.routed));
      // Counters to carry over exist only where tables may exist (not after we removed them).
      const commands = step.mode === 'update' ? step.commands : await this.fullTransaction(step.ruleset, this.applied !== null);
      const t0 = performance.now();
      await this.nft.apply(commands, 'port security ruleset');
      const nftMs = performance.now() - t0;
      const before = new Set(this.appliedPorts.map((p) => p.attachment));
      this.applied = step.ruleset;
      this.appliedPorts = step.ports;
      this.appliedFingerprint = step.fingerprint;
      this.outcome = { ok: true };
      // Only a change that may have taken an allowance away, or a port newly protected, can
      // leave flows to end.
      // (Devices that do not exist yet have no flows: a node being built skips the listing.)
      const present = new Set(ctx.observed.links.map((l) => l.name));
      const narrowing = (step.mode === 'update' && step.commands.some((c) => 'flush' in c || 'delete' in c))
        || step.ports.some((p) => present.has(p.ifName) && (step.mode !== 'update' || !before.has(p.attachment)));
      const t1 = performance.now();
      if (narrowing) await this.endDisallowedFlows(step, ctx);
      this.options.debug?.('port security applied', {
        mode: step.mode, commands: commands.length, planMs: Math.round(this.lastPlanMs), nftMs: Math.round(nftMs), flowCheckMs: narrowing ? Math.round(performance.now() - t1) : null,
      });
      return { applied: 1, failures: [], kernelChanged: false };
    } catch (err) {
      const e = err as Partial<DataplaneError> & Error;
      this.outcome = { ok: false, reason: 'TransactionFailed', message: `nft transaction refused, previous rules stay in force: ${e.detail ?? e.message}` };
      // The ports of the plan that were not already in force get no rules: report them all.
      return { applied: 0, failures: [{ step, error: this.outcome.message, problem: null }], kernelChanged: false };
    }
  }

  /** Whether our tables exist (no nft at all: they cannot). */
  private async tablesExist(): Promise<boolean> {
    const items = await this.nft.list(['tables']).catch(() => null);
    return (items ?? []).some((i) => (i['table'] as { name?: string } | undefined)?.name === TABLE);
  }

  /** Deletes the tracked flows of protected ports that the rules now in force do not allow. */
  private async endDisallowedFlows(step: FirewallStep, ctx: PassContext): Promise<void> {
    const tool = this.options.conntrack;
    if (!tool || step.ports.length === 0) return;
    try {
      const zoneOf = new Map(ctx.desired.networks.map((n) => [n.name, step.zones.get(bridgeNameOf(n)) ?? 0]));
      const cut = disallowedFlows(await tool.list(), step.ports, ctx.desired.securityGroups, (network) => zoneOf.get(network) ?? 0);
      for (const f of cut) await tool.delete(f);
    } catch (err) {
      this.options.warn?.('could not end flows the security groups no longer allow', { err: (err as Error).message });
    }
  }

  private async fullTransaction(ruleset: Ruleset | null, carryCounters: boolean): Promise<NftCommand[]> {
    if (ruleset === null) return TABLES.flatMap((t) => removeCommands(t));
    const seeds = carryCounters ? await readCounterSeeds(this.nft) : new Map<string, CounterValue>();
    return TABLES.flatMap((t) => fullCommands(ruleset[t], seeds));
  }

  /** Drop counters of each protected port, read from the kernel now. */
  async drops(): Promise<Map<string, PortDrops>> {
    if (!this.applied) return new Map();
    const counters = await readCounterSeeds(this.nft);
    return new Map(this.appliedPorts.map((p) => [p.attachment, portDrops(counters, p.attachment)]));
  }

  private async ensureBridgeNetfilter(needed: boolean): Promise<void> {
    if (!needed) {
      this.bridgeNetfilter = null;
      return;
    }
    try {
      await this.options.enableBridgeNetfilter();
      this.bridgeNetfilter = { ok: true };
    } catch (err) {
      // The rules still go in: they drop the protected ports' IP traffic that br_netfilter
      // does not hand to conntrack (fail closed), so the ports are cut off, not open.
      this.bridgeNetfilter = { ok: false, reason: 'BridgeNetfilterUnavailable', message: `${(err as Error).message}: IP traffic of protected ports is dropped` };
    }
  }

  report(ctx: PassContext): ResourceReport[] {
    const applied = new Map(this.appliedPorts.map((p) => [p.attachment, p]));
    const out: ResourceReport[] = [];
    for (const a of ctx.desired.attachments) {
      if (!isProtected(a)) continue;
      const p = applied.get(a.name);
      const groups = a.portSecurity?.securityGroups ?? [];
      let c;
      if (this.bridgeNetfilter && !this.bridgeNetfilter.ok && !p?.routed) c = condition('SecurityApplied', false, this.bridgeNetfilter.reason, this.bridgeNetfilter.message);
      else if (!this.outcome.ok) c = condition('SecurityApplied', false, this.outcome.reason, this.outcome.message);
      else if (!p) c = condition('SecurityApplied', false, 'NotApplied', 'the port security rules are not loaded yet');
      else c = condition('SecurityApplied', true, 'Applied', `${groups.length} security group(s), ${p.v4.length + p.v6.length} allowed source address(es)`);
      out.push({
        resource: { kind: 'attachment', name: a.name },
        conditions: [c],
        attachment: {
          portSecurity: {
            securityGroups: groups, allowedAddresses: p ? [...p.v4, ...p.v6] : [], allowedMacs: p?.macs ?? [],
            spoofDroppedPackets: 0, ingressDroppedPackets: 0, egressDroppedPackets: 0,
          },
        },
      });
    }
    return out;
  }
}
