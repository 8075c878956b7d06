// Names of the attachment and host device of one container interface, from CNI's key
// (container id, interface name): the same on every call, so ADD is idempotent and DEL, CHECK
// and GC find what ADD made without any lookup table.
import { createHash } from 'node:crypto';

export interface CniRef {
  containerId: string;
  ifName: string;
}

function hash12(ref: CniRef): string {
  return createHash('sha256').update(`${ref.containerId}\0${ref.ifName}`).digest('hex').slice(0, 12);
}

/** The attachment's name, e.g. "cni-3f2a9c0b1d4e". */
export function cniAttachmentName(ref: CniRef): string {
  return `cni-${hash12(ref)}`;
}

/** The veth's host end (15 bytes at most), e.g. "cni3f2a9c0b1d4e". */
export function cniHostIfName(ref: CniRef): string {
  return `cni${hash12(ref)}`;
}
