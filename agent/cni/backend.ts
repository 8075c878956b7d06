// What the agent does for hostnet-cni, without gRPC: ADD stores a veth attachment for one
// container interface and answers once a pass has configured it (or removes it again and says
// why: nothing half-made stays); DEL, CHECK, GC and STATUS as the CNI spec asks. Changes are
// validated against the whole effective state first and stored before the kernel is touched;
// passes are shared, so parallel ADDs cost a few passes, not one each.
import { existsSync } from 'node:fs';
import { checkIfName, checkMac } from '../../dataplane/validate.js';
import { netnsPath } from '../../dataplane/netns-path.js';
import type { Dataplane } from '../../dataplane/types.js';
import { Attachment, DesiredState, IpFamily, type AddressRequest, type IpConfig, type Network } from '../api/gen/hostnet/v1/resources.js';
import type { CniAddRequest, CniAddResponse, CniDns } from '../api/gen/hostnet/v1/cni.js';
import { ConditionStatus, type AttachmentStatus } from '../api/gen/hostnet/v1/status.js';
import { parseCidr, parseIp } from '../../dataplane/ip.js';
import { assertValidDesiredState, ValidationError } from '../desired/validate.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { netnsState } from '../kernel/netns-state.js';
import { cniAttachmentName, cniHostIfName, type CniRef } from './names.js';
import type { CniAttachmentStore } from './store.js';
import type { EffectiveState } from './effective.js';

export type CniErrorCode = 'not-found' | 'invalid' | 'exhausted' | 'failed';

export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(readonly code: CniErrorCode, message: string) {
    super(message);
  }
}

export interface CniBackendDeps {
  store: CniAttachmentStore;
  effective: EffectiveState;
  /** The control plane's stored state. */
  controlPlane: () => DesiredState;
  reconciler: Pick<Reconciler, 'requestResync' | 'status' | 'allowTeardown'>;
  dp: Pick<Dataplane, 'getLink'>;
  /** The agent's change lock: CNI changes and the control plane's are stored one at a time. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** A pass may leave an attachment Pending when the kernel was still settling: look this often. */
const PASSES_TO_SETTLE = 3;

export class CniBackend {
  constructor(private readonly deps: CniBackendDeps) {}

  async add(req: CniAddRequest): Promise<CniAddResponse> {
    const ref = checkRef(req.ref);
    const name = cniAttachmentName(ref);
    const seq = await this.deps.exclusive(async () => {
      const current = this.deps.effective.withPending(this.deps.controlPlane());
      const network = current.networks.find((n) => n.name === req.network);
      if (!req.network) throw new CniError('invalid', 'the network configuration names no hostnet "network"');
      if (!network) throw new CniError('not-found', `network "${req.network}" does not exist on this node`);
      const wanted = attachmentFor(req, ref, network);
      const existing = current.attachments.find((a) => a.name === name);
      // The same ADD again (a runtime retrying): nothing to store.
      if (existing && JSON.stringify(Attachment.toJSON(existing)) === JSON.stringify(Attachment.toJSON(wanted))) return 0;
      const candidate = DesiredState.fromPartial({ ...current, attachments: [...current.attachments.filter((a) => a.name !== name), wanted] });
      try {
        assertValidDesiredState(candidate);
      } catch (err) {
        if (err instanceof ValidationError) throw new CniError('invalid', `attachment for container ${ref.containerId} interface ${ref.ifName}: ${err.message}`);
        throw err;
      }
      return this.deps.store.stage([wanted]);
    });
    await this.deps.store.commit(seq);
    const status = await this.settled(name);
    const failure = status ? addFailure(status) : 'it is not in the agent\'s status after the pass';
    if (failure) {
      // Nothing half-made: the attachment goes again, with its device and address.
      await this.remove(new Set([name]));
      const exhausted = status?.conditions.some((c) => c.type === 'AddressesAssigned' && c.reason === 'NoFreeAddress');
      throw new CniError(exhausted ? 'exhausted' : 'failed', `add container ${ref.containerId} interface ${ref.ifName} to network "${req.network}": ${failure}`);
    }
    const network = this.deps.effective.current().networks.find((n) => n.name === req.network);
    const host = await this.deps.dp.getLink(cniHostIfName(ref)).catch(() => null);
    return { attachment: status!, hostIfName: cniHostIfName(ref), hostMac: host?.mac ?? '', dns: dnsOf(network) };
  }

  async del(ref: CniRef | undefined): Promise<boolean> {
    const name = cniAttachmentName(checkRef(ref));
    return (await this.remove(new Set([name]))).length > 0;
  }

  async check(ref: CniRef | undefined, netns: string): Promise<AttachmentStatus> {
    const r = checkRef(ref);
    const name = cniAttachmentName(r);
    const a = this.deps.store.pending().find((x) => x.name === name);
    if (!a) throw new CniError('failed', `container ${r.containerId} interface ${r.ifName} has no hostnet attachment`);
    if (netns && a.kind?.$case === 'veth' && netnsPath(a.kind.veth.peerNetns) !== netnsPath(netns)) {
      throw new CniError('failed', `attachment ${name} is in ${a.kind.veth.peerNetns}, not in ${netns}`);
    }
    // A full look (the kernel re-read, the pod's namespace entered) before judging.
    await this.deps.reconciler.requestResync('cni check', true);
    const status = this.statusOf(name);
    const bad = status?.conditions.filter((c) => c.type !== 'Ready' && c.status !== ConditionStatus.CONDITION_STATUS_TRUE) ?? [];
    if (!status || bad.length > 0) {
      throw new CniError('failed', `attachment ${name}: ${bad.map((c) => `${c.type} ${c.reason}: ${c.message}`).join('; ') || 'no status'}`);
    }
    return status;
  }

  /** Removes this CNI network's attachments whose (container, interface) is not in `valid`. */
  async gc(cniNetwork: string, valid: readonly CniRef[]): Promise<string[]> {
    const keep = new Set(valid.map((r) => cniAttachmentName(r)));
    const stale = this.deps.store.pending().filter((a) => a.cni?.cniNetwork === cniNetwork && !keep.has(a.name)).map((a) => a.name);
    if (stale.length === 0) return [];
    return this.remove(new Set(stale));
  }

  status(network: string): { ready: boolean; message: string } {
    const exists = this.deps.effective.current().networks.some((n) => n.name === network);
    if (!exists) return { ready: false, message: `network "${network}" does not exist on this node` };
    const ready = this.deps.reconciler.status(0).networks.find((n) => n.name === network)?.conditions.find((c) => c.type === 'Ready');
    if (ready?.status !== ConditionStatus.CONDITION_STATUS_TRUE) return { ready: false, message: `network "${network}" is not ready: ${ready ? `${ready.reason}: ${ready.message}` : 'not reconciled yet'}` };
    return { ready: true, message: `network "${network}" is ready` };
  }

  private async remove(names: ReadonlySet<string>): Promise<string[]> {
    const { removed, seq } = await this.deps.exclusive(async () => {
      const present = this.deps.store.pending().filter((a) => names.has(a.name)).map((a) => a.name);
      return { removed: present, seq: present.length > 0 ? this.deps.store.stage([], new Set(present)) : 0 };
    });
    await this.deps.store.commit(seq);
    if (removed.length > 0) {
      this.deps.reconciler.allowTeardown();
      await this.deps.reconciler.requestResync('cni del');
    }
    return removed;
  }

  private statusOf(name: string): AttachmentStatus | undefined {
    return this.deps.reconciler.status(0).attachments.find((a) => a.name === name);
  }

  /** The attachment's status once a pass has run with it, after up to a few passes while it is Pending. */
  private async settled(name: string): Promise<AttachmentStatus | undefined> {
    let status: AttachmentStatus | undefined;
    for (let i = 0; i < PASSES_TO_SETTLE; i++) {
      await this.deps.reconciler.requestResync('cni add');
      status = this.statusOf(name);
      if (status && !pending(status)) return status;
    }
    return status;
  }
}

function pending(s: AttachmentStatus): boolean {
  return s.conditions.some((c) => c.status !== ConditionStatus.CONDITION_STATUS_TRUE && c.reason === 'Pending');
}

/** Why an attachment's status is not what ADD promises (its device and addresses in place), or null. */
function addFailure(s: AttachmentStatus): string | null {
  const bad = s.conditions.filter((c) => c.type !== 'Ready' && c.type !== 'Negotiated' && c.status !== ConditionStatus.CONDITION_STATUS_TRUE);
  return bad.length === 0 ? null : bad.map((c) => `${c.type} ${c.reason}: ${c.message}`).join('; ');
}

function checkRef(ref: CniRef | undefined): CniRef {
  if (!ref?.containerId) throw new CniError('invalid', 'CNI_CONTAINERID is required');
  if (!ref.ifName) throw new CniError('invalid', 'CNI_IFNAME is required');
  try {
    checkIfName('cni', ref.ifName, 'CNI_IFNAME');
  } catch (err) {
    throw new CniError('invalid', (err as Error).message);
  }
  return { containerId: ref.containerId, ifName: ref.ifName };
}

/** The attachment one ADD asks for: a veth into the container's namespace, its addresses static (as asked) or one auto. */
function attachmentFor(req: CniAddRequest, ref: CniRef, network: Network): Attachment {
  if (!req.netns) throw new CniError('invalid', 'CNI_NETNS is required');
  const path = netnsPath(req.netns);
  if (!existsSync(path) || !netnsState(path).present) throw new CniError('invalid', `CNI_NETNS ${req.netns} is not a network namespace`);
  const cidr = parseCidr(network.cidr);
  const ips = req.ips.map((text) => {
    const slash = text.indexOf('/');
    const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
    if (!ip) throw new CniError('invalid', `requested IP "${text}" is not an address`);
    if (slash >= 0 && cidr && Number(text.slice(slash + 1)) !== cidr.prefix) {
      throw new CniError('invalid', `requested IP "${text}" has another prefix length than network "${network.name}" (${network.cidr})`);
    }
    return ip.text;
  });
  let mac: string | undefined;
  if (req.mac) {
    mac = req.mac.toLowerCase();
    try {
      checkMac('cni', ref.containerId, mac, 'runtimeConfig.mac');
    } catch (err) {
      throw new CniError('invalid', (err as Error).message);
    }
  }
  const [first, ...rest] = ips;
  const ip: IpConfig = first
    ? { mode: { $case: 'static', static: first }, addresses: rest.map((x): AddressRequest => ({ mode: { $case: 'static', static: x }, family: IpFamily.IP_FAMILY_UNSPECIFIED })), skipAssignment: false }
    : { mode: { $case: 'auto', auto: {} }, addresses: [], skipAssignment: false };
  return Attachment.fromPartial({
    name: cniAttachmentName(ref),
    network: network.name,
    kind: { $case: 'veth', veth: { ifName: cniHostIfName(ref), peerNetns: path, peerIfName: ref.ifName } },
    ...(mac ? { mac } : {}),
    ip,
    cni: { containerId: ref.containerId, cniNetwork: req.cniNetwork },
  });
}

function dnsOf(n: Network | undefined): CniDns {
  return { nameservers: [...(n?.dhcp?.dnsServers ?? [])], domain: n?.dhcp?.domainName ?? '', search: [...(n?.dhcp?.searchDomains ?? [])] };
}
