// Why an existing link cannot be the one a spec asks for, in words both backends share.
import type { Link, TapSpec } from './types.js';

/**
 * TAP flags and owners are set by TUNSETIFF/TUNSETOWNER at creation only. vnet_hdr is left out:
 * every process that opens the TAP sets it anew (QEMU turns it on by default), so a difference
 * means the TAP is in use, not that it is another device.
 */
export function tapConflict(l: Link, spec: TapSpec): string | null {
  if (l.kind !== 'tun' || l.tun?.type !== 'tap') {
    return `"${spec.name}" exists as a ${l.kind === 'tun' ? 'TUN (not TAP) device' : l.kind}, not a tap`;
  }
  const t = l.tun;
  const fixed: string[] = [];
  if (spec.multiQueue !== undefined && spec.multiQueue !== t.multiQueue) fixed.push(`multi_queue ${t.multiQueue ? 'on' : 'off'}`);
  if (spec.owner !== undefined && spec.owner !== t.owner) fixed.push(`owner ${t.owner}`);
  if (spec.groupOwner !== undefined && spec.groupOwner !== t.groupOwner) fixed.push(`group ${t.groupOwner}`);
  return fixed.length === 0
    ? null
    : `tap "${spec.name}" exists with ${fixed.join(', ')}; these are fixed at creation (delete the tap to change them)`;
}
