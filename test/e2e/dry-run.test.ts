// A dry run is the real plan: for a sequence of changes, the plan a dry run returns equals the
// actions the pass for the same change then takes, through every participant (kernel links and
// addresses, DHCP servers), the teardown, and the preconditions (a missing peer namespace).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openNetlinkDataplane, type NetlinkDataplane } from '../../dataplane/netlink/backend.js';
import type { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { DhcpHost } from '../../agent/dhcp/host.js';
import { DhcpParticipant } from '../../agent/dhcp/participant.js';
import { KernelLinksParticipant } from '../../agent/kernel/participant.js';
import { Reconciler } from '../../agent/reconcile/reconciler.js';
import { network, state, tap, veth } from '../lib/agent-state.js';
import { ipLink } from '../../dataplane/testing/ip.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(2, 'each', 'dry');
let dp: NetlinkDataplane | null = null;
let rec: Reconciler | null = null;
let stateDir: string | null = null;

afterEach(async () => {
  await rec?.close();
  await dp?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
  rec = null;
  dp = null;
  stateDir = null;
});

describe('dry run', () => {
  it('plans exactly the actions the pass then takes, change after change', async () => {
    const [host, work] = [ns[0]!, ns[1]!];
    stateDir = await mkdtemp(path.join(tmpdir(), 'hntest-dry-'));
    dp = await openNetlinkDataplane(host);
    const dhcp = new DhcpHost({ netns: host, stateDir });
    let desired: DesiredState = state({});
    rec = new Reconciler(dp, { desired: () => desired, participants: [new KernelLinksParticipant(dp), new DhcpParticipant(dhcp)], watchKernel: false });
    await rec.start();
    const dhcpOn = { dhcp: { enabled: true, pools: [{ start: '10.77.1.100', end: '10.77.1.150' }] } };
    const steps: DesiredState[] = [
      state({
        generation: 1, networks: [network('web', 1, dhcpOn), network('db', 2)],
        attachments: [tap('vm1', 'web', 'tap-vm1'), veth('pod-a', 'db', 'hv-poda', work), veth('gone', 'db', 'hv-gone', '/var/run/netns/hntest-no-such-ns')],
      }),
      // MTU change, one attachment swapped for another, DHCP settings changed.
      state({
        generation: 2,
        networks: [network('web', 1, { mtu: 1400, dhcp: { enabled: true, pools: [{ start: '10.77.1.100', end: '10.77.1.120' }] } }), network('db', 2)],
        attachments: [tap('vm1', 'web', 'tap-vm1'), veth('pod-b', 'db', 'hv-podb', work, 'net2')],
      }),
      // A network removed with its attachment; DHCP off.
      state({ generation: 3, networks: [network('web', 1, { mtu: 1400 })], attachments: [tap('vm1', 'web', 'tap-vm1')] }),
      // Nothing changes: both plan nothing.
      state({ generation: 4, networks: [network('web', 1, { mtu: 1400 })], attachments: [tap('vm1', 'web', 'tap-vm1')] }),
    ];
    for (const next of steps) {
      const dry = await rec.dryRun(next);
      desired = next;
      const pass = await rec.reconcile('apply');
      expect(pass.failures).toEqual([]);
      expect(pass.plan.actions.map((a) => a.description)).toEqual(dry.actions.map((a) => a.description));
      expect(pass.plan.problems).toEqual(dry.problems);
      if (next.generation === 1) {
        expect(dry.actions.map((a) => a.op)).toContain('startDhcp');
        expect(dry.problems.map((p) => p.reason)).toEqual(['PeerNetnsMissing']);
      }
      if (next.generation === 4) expect(dry.actions).toEqual([]);
    }
    // The passes really did it (independent witness): the kernel as ip sees it.
    expect((await ipLink(host, 'hn-web'))?.mtu).toBe(1400);
    expect(await ipLink(host, 'hn-db')).toBeUndefined();
    expect(await ipLink(host, 'hv-podb')).toBeUndefined();
  });
});
