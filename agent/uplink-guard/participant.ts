// Keeps DHCP and router advertisements of networks that span hosts on their own host (see
// ruleset.ts). One nft transaction when the set of guarded uplinks changes; on refresh passes
// the table is read back and rewritten if someone removed or changed it. Runs before the
// kernel's links and the servers: the guard is in place before a server answers on a bridge
// whose uplink could carry its answers away.
import type { NftRunner } from '../../dataplane/nftables/run.js';
import type { Network } from '../api/gen/hostnet/v1/resources.js';
import { condition } from '../conditions/condition.js';
import { servesDhcp } from '../dhcp/config.js';
import { servesDhcp6 } from '../dhcp/config6.js';
import { uplinkDeviceOf } from '../naming.js';
import { advertises } from '../ra/config.js';
import type { ApplyOutcome, Participant, ParticipantPlan, PassContext, PlannedStep, ResourceReport } from '../reconcile/participant.js';
import { GUARD_TABLE, guardCommands } from './ruleset.js';

/** The uplink device of a network this host serves addresses on, or null: nothing to guard. */
export function guardedUplink(n: Network): string | null {
  const up = uplinkDeviceOf(n);
  return up && (servesDhcp(n) || servesDhcp6(n) || advertises(n)) ? up.name : null;
}

interface GuardStep extends PlannedStep {
  readonly devices: readonly string[];
}

export class UplinkGuardParticipant implements Participant<GuardStep> {
  readonly name = 'uplink-guard';
  /** What the kernel holds as far as we know (sorted device names); null: unknown, read it. */
  private applied: string[] | null = null;
  private error: string | null = null;

  constructor(private readonly nft: NftRunner) {}

  async plan(ctx: PassContext): Promise<ParticipantPlan<GuardStep>> {
    const wanted = [...new Set(ctx.desired.networks.flatMap((n) => guardedUplink(n) ?? []))].sort();
    if (ctx.holdTeardown && wanted.length === 0) return { steps: [], problems: [] };
    if (this.applied === null || ctx.refresh) this.applied = await this.read();
    if (sameList(this.applied, wanted)) return { steps: [], problems: [] };
    const description = wanted.length === 0
      ? `remove nft table bridge ${GUARD_TABLE}: no network's DHCP or RA needs keeping off an uplink`
      : `keep DHCP and router advertisements off uplinks ${wanted.join(', ')} (nft table bridge ${GUARD_TABLE})`;
    return { steps: [{ op: wanted.length ? 'guardUplinks' : 'unguardUplinks', description, devices: wanted }], problems: [] };
  }

  async apply(plan: ParticipantPlan<GuardStep>): Promise<ApplyOutcome> {
    const outcome: ApplyOutcome = { applied: 0, failures: [], kernelChanged: false };
    for (const step of plan.steps) {
      try {
        await this.nft.apply(guardCommands(step.devices), `table bridge ${GUARD_TABLE}`);
        this.applied = [...step.devices];
        this.error = null;
        outcome.applied++;
      } catch (err) {
        this.applied = null;
        this.error = err instanceof Error ? err.message : String(err);
        outcome.failures.push({ step, problem: null, error: this.error });
      }
    }
    return outcome;
  }

  report(ctx: PassContext): ResourceReport[] {
    const out: ResourceReport[] = [];
    for (const n of ctx.desired.networks) {
      const dev = guardedUplink(n);
      if (!dev) continue;
      const ok = this.error === null && (this.applied ?? []).includes(dev);
      out.push({
        resource: { kind: 'network', name: n.name },
        conditions: [condition('AddressingContained', ok, ok ? 'UplinkGuarded' : 'GuardFailed',
          ok ? `DHCP and router advertisements do not cross uplink "${dev}"` : `DHCP and router advertisements may cross uplink "${dev}": ${this.error ?? 'the guard is not in place yet'}`)],
      });
    }
    return out;
  }

  /** The uplinks the table in the kernel guards (from its forward chain's rules), [] when it is absent. */
  private async read(): Promise<string[]> {
    const items = await this.nft.list(['table', 'bridge', GUARD_TABLE]).catch(() => null);
    if (!items) return [];
    const devices = new Set<string>();
    for (const item of items) {
      const rule = item['rule'] as { chain?: string; expr?: Array<Record<string, unknown>> } | undefined;
      if (rule?.chain !== 'forward') continue;
      const m = rule.expr?.[0]?.['match'] as { right?: unknown } | undefined;
      const right = m?.right;
      const names = typeof right === 'string' ? [right] : (right as { set?: unknown[] } | undefined)?.set ?? [];
      for (const x of names) if (typeof x === 'string') devices.add(x);
    }
    // A table with fewer rules than ours is someone's edit: unknown, so it is rewritten.
    const expected = guardCommands([...devices]).filter((c) => 'add' in c && 'rule' in c.add).length;
    const rules = items.filter((i) => 'rule' in i).length;
    return rules === expected ? [...devices].sort() : ['(changed by hand)'];
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
