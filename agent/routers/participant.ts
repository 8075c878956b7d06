// Routers between this host's networks, and the isolation of the networks no router connects
// (see ruleset.ts and model.ts). While a router exists or a network is routed, the table inet
// hostnet-routers fences the networks; while any router exists, IPv4 forwarding on per device,
// only on the bridges of connected networks and on the external interfaces (IPv6 too on bridges
// of networks with an IPv6 subnet); never the host-wide ip_forward, which would route between
// every interface of the host (a routed network's devices forward already: the routed
// participant owns their switches). The table is written in one transaction when what it
// should hold changes, read back on refresh passes and rewritten when it was changed by hand,
// and removed with the last router and routed network.
// The switches themselves are the forwarding participant's (agent/forwarding: one record for
// every owner; forwarding.ts here says which ones the routers want). It runs right after this
// one, so a switch comes on only after the table is in place; before this one removes the table
// it asks the forwarding participant to turn off what no one wants any more: isolation first,
// both ways. This participant still says in its Routed condition what became of forwarding.
import type { NftRunner } from '../../dataplane/nftables/run.js';
import { condition } from '../conditions/condition.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import type { ForwardingStatus } from '../forwarding/participant.js';
import { routersModel, routersOf, type RoutersModel } from './model.js';
import { ROUTERS_TABLE, routerCommands } from './ruleset.js';
import type { NftCommand } from '../../dataplane/nftables/json.js';

type RouterStep = PlannedStep & { readonly op: 'writeRouterTable' | 'removeRouterTable'; readonly commands: NftCommand[]; readonly signature: string };

export interface RoutersOptions {
  nft: NftRunner;
  forwarding: ForwardingStatus;
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
  /** That listing while nft runs (after the pass's own work, not in its way); null when none. */
  private snapshotting: Promise<void> | null = null;
  private nftError: string | null = null;

  constructor(private readonly o: RoutersOptions) {}

  async plan(ctx: PassContext): Promise<ParticipantPlan<RouterStep>> {
    await this.snapshotting;
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
    return { steps, problems: [] };
  }

  async apply(plan: ParticipantPlan<RouterStep>, ctx: PassContext): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    for (const step of plan.steps) {
      try {
        await this.applyStep(step, ctx);
        outcome.applied++;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.applied = null;
        this.nftError = error;
        outcome.failures.push({ step, problem: null, error });
      }
    }
    return outcome;
  }

  private async applyStep(step: RouterStep, ctx: PassContext): Promise<void> {
    // Forwarding off before the table goes (the forwarding participant, which runs after this
    // one, would turn it off only once the drop rules were gone). A failure keeps the table.
    if (step.op === 'removeRouterTable') {
      try {
        await this.o.forwarding.turnOffUnwanted(ctx);
      } catch (err) {
        throw new Error(`turn forwarding off before removing table inet ${ROUTERS_TABLE}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await this.o.nft.apply(step.commands, `table inet ${ROUTERS_TABLE}`);
    this.applied = step.signature;
    this.nftError = null;
    // Listed in the background: the pass (and the Apply waiting for it) does not wait for a
    // second nft process; the next plan does. A hand edit in the few ms between the two
    // would be taken for ours until the table changes again.
    this.snapshot = null;
    this.snapshotting = this.o.nft.list(['table', 'inet', ROUTERS_TABLE]).then(
      (items) => { this.snapshot = normalized(items); },
      () => { this.snapshot = null; },
    ).finally(() => { this.snapshotting = null; });
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
      const v6NoForce = this.o.forwarding.missing().has(`net/ipv6/conf/${bridge}/force_forwarding`);
      const forwardingError = this.o.forwarding.failure('routers');
      const c = this.nftError !== null ? condition('Routed', false, 'RulesFailed', `the router rules are not in place: ${this.nftError}`)
        : forwardingError !== null ? condition('Routed', false, 'ForwardingFailed', `forwarding could not be turned on: ${forwardingError}`)
          : bridge !== null && !links.has(bridge) ? condition('Routed', false, 'BridgeMissing', `bridge ${bridge} does not exist yet`)
            : missingExt.length > 0 ? condition('Routed', false, 'ExternalInterfaceMissing', `external interface ${missingExt.join(', ')} does not exist; ${words}`)
              : condition('Routed', true, 'Connected', `${words}${v6NoForce ? ' (IPv6 is not forwarded: this kernel has no force_forwarding and hostnet leaves conf/all/forwarding alone)' : ''}`);
      out.push({ resource: { kind: 'network', name: n.name }, conditions: [c] });
    }
    return out;
  }
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
