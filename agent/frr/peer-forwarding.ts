// IPv4 forwarding on the interfaces the BGP peers are reached through, while the desired state
// has node.bgp and a routed network: a packet from the fabric to a routed workload enters the
// host there, and Linux forwards IPv4 by the switch of the device a packet comes IN by (the
// routed participant turns it on only on the routed devices). The device of each peer is what
// `ip route get <peer>` says, looked up again on full passes (SIGHUP, the periodic resync) and
// whenever the peers change. This module only says which switches are wanted; the forwarding
// participant (agent/forwarding) reads, sets, records (<state-dir>/forwarding.json) and gives
// them back, together with the routers' wants: a router's external interface that is also the
// device towards a peer stays on while either needs it.
import { execa } from 'execa';
import { commandIn } from '../../dataplane/netns-path.js';
import type { DesiredState } from '../api/gen/hostnet/v1/resources.js';
import { isRouted } from '../desired/routed.js';
import type { ForwardingProvider } from '../forwarding/participant.js';
import type { ForwardingWant } from '../forwarding/plan.js';
import type { PassContext } from '../reconcile/participant.js';

/** `ip -j route get <address>` in `netns`: its first route's device. */
export function routeDeviceIn(netns: string | null): (address: string) => Promise<string | null> {
  return async (address) => {
    const c = commandIn(netns, 'ip', ['-j', 'route', 'get', address]);
    const r = await execa(c.file, c.args, { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) {
      // "Network is unreachable": no device to forward on (yet). Anything else is a failure.
      if (/unreachable/i.test(r.stderr)) return null;
      throw new Error(`ip route get ${address} in ${netns ?? 'own namespace'}: exit ${r.exitCode}: ${r.stderr.trim()}`);
    }
    const routes = JSON.parse(r.stdout || '[]') as Array<{ dev?: string }>;
    return routes[0]?.dev ?? null;
  };
}

/** The peers whose devices must forward: those of node.bgp while a network is routed. */
export function forwardingPeers(desired: DesiredState): string[] {
  const bgp = desired.node?.bgp;
  if (!bgp || !desired.networks.some(isRouted)) return [];
  return [...new Set(bgp.peers.map((p) => p.address).filter((a) => a !== ''))].sort();
}

/** The switches wanted towards the peers, given each peer's device (null: no route to it). Pure. */
export function peerForwardingWants(desired: DesiredState, devices: ReadonlyMap<string, string | null>): ForwardingWant[] {
  const devs = new Set(forwardingPeers(desired).map((p) => devices.get(p) ?? null).filter((d): d is string => d !== null));
  return [...devs].sort().map((device) => ({ key: `net/ipv4/conf/${device}/forwarding`, device, owner: 'bgp-peers' as const }));
}

/** The provider: the peers' devices looked up when the peers change or on a full pass. */
export class PeerForwarding implements ForwardingProvider {
  readonly owner = 'bgp-peers' as const;
  readonly lookup = 'find the devices towards the BGP peers';
  /** Peer -> device, as last looked up, and for which peers. */
  private devices = new Map<string, string | null>();
  private lookedUpFor: string | null = null;

  /** `deviceTo`: the device a packet to `address` leaves by (`ip route get`), null when there is no route. */
  constructor(private readonly deviceTo: (address: string) => Promise<string | null>) {}

  async wants(ctx: PassContext): Promise<ForwardingWant[]> {
    const peers = forwardingPeers(ctx.desired);
    if (ctx.refresh || peers.join(',') !== this.lookedUpFor) {
      // A failed lookup is tried again next pass.
      this.lookedUpFor = null;
      const found = await Promise.all(peers.map(async (p) => [p, await this.deviceTo(p)] as const));
      this.devices = new Map(found);
      this.lookedUpFor = peers.join(',');
    }
    return peerForwardingWants(ctx.desired, this.devices);
  }
}
