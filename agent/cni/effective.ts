// The desired state the reconciler works from: the control plane's, with the attachments made
// through hostnet-cni after its own. One object per (stored state, CNI version), so every
// reader of one pass sees the same object (ipam's and DHCP's per-state caches rely on that).
import { DesiredState, type Attachment } from '../api/gen/hostnet/v1/resources.js';
import type { CniAttachmentStore } from './store.js';

export class EffectiveState {
  private cached: { base: DesiredState; version: number; state: DesiredState } | null = null;

  constructor(private readonly base: () => DesiredState, private readonly cni: CniAttachmentStore | null) {}

  current(): DesiredState {
    return this.of(this.base());
  }

  /** `state` joined with the CNI attachments staged so far: what a new change is judged against. */
  withPending(state: DesiredState): DesiredState {
    return this.cni ? this.of(state, this.cni.pending()) : state;
  }

  /** `state` joined with the CNI attachments on disk (or with `attachments`, e.g. staged ones). */
  of(state: DesiredState, attachments?: readonly Attachment[]): DesiredState {
    if (attachments) return attachments.length === 0 ? state : DesiredState.fromPartial({ ...state, attachments: [...state.attachments, ...attachments] });
    const cni = this.cni;
    if (!cni || cni.list().length === 0) return state;
    const c = this.cached;
    if (c && c.base === state && c.version === cni.version) return c.state;
    const joined = DesiredState.fromPartial({ ...state, attachments: [...state.attachments, ...cni.list()] });
    this.cached = { base: state, version: cni.version, state: joined };
    return joined;
  }
}
