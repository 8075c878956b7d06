// What hostnetctl shows of one attachment's addressing (addresses, gateway, routes, VLAN,
// workload interface, container), as pure functions of its spec and its status, so the text is
// testable without an agent. The spec may be missing: attachments made through hostnet-cni
// live beside the desired state and may be known by their status alone.
import type { Attachment } from '../api/gen/hostnet/v1/resources.js';
import { AddressSource, type AttachmentAddress, type AttachmentStatus } from '../api/gen/hostnet/v1/status.js';

/** How much of a container id the table shows (as `docker ps` and `crictl ps` do). */
export const SHORT_CONTAINER_ID = 12;

export function cidrOf(a: AttachmentAddress): string {
  return a.prefixLength ? `${a.ip}/${a.prefixLength}` : a.ip;
}

/**
 * The ADDRESSES cell: every address as a CIDR, comma-separated; "-" when none. An agent that
 * reports only the first address (status.ip) still shows it.
 */
export function addressesCell(s: AttachmentStatus): string {
  if (s.addresses.length) return s.addresses.map(cidrOf).join(',');
  return s.ip || '-';
}

/** "tap" / "veth"; from the status when the spec is unknown (a veth has a workload end). */
export function kindCell(a: Attachment | undefined, s: AttachmentStatus): string {
  if (a?.kind) return a.kind.$case;
  return s.workloadIfName ? 'veth' : '-';
}

/** The CONTAINER cell: the id cut as container tools cut it (whole with -o wide); "-" when none. */
export function containerCell(s: AttachmentStatus, wide: boolean): string {
  if (!s.containerId) return '-';
  return wide ? s.containerId : s.containerId.slice(0, SHORT_CONTAINER_ID);
}

function sourceWord(source: AddressSource): string {
  if (source === AddressSource.ADDRESS_SOURCE_STATIC) return 'static';
  if (source === AddressSource.ADDRESS_SOURCE_AUTO) return 'auto';
  return 'unknown source';
}

/** One line per address: "10.0.0.5/24 (static, assigned)". */
export function addressLines(a: Attachment | undefined, s: AttachmentStatus): string[] {
  if (s.addresses.length) {
    return s.addresses.map((x) => `${cidrOf(x)} (${sourceWord(x.source)}, ${x.assigned ? 'assigned' : 'not assigned'})`);
  }
  // Nothing reported (yet): say what the spec asks for, so an admin sees why the list is empty.
  const m = a?.ip?.mode;
  if (m?.$case === 'static') return [`${m.static} (static, not reported by the agent yet)`];
  if (m?.$case === 'auto') return ['auto (not chosen yet)'];
  return s.ip ? [s.ip] : ['-'];
}

/** The describe block, label column as wide as commands.ts's (LABEL_WIDTH). */
export function addressingLines(a: Attachment | undefined, s: AttachmentStatus, label: (name: string) => string): string[] {
  const list = (name: string, values: string[]): string[] => {
    const pad = ' '.repeat(label('').length);
    return values.map((v, i) => `${i === 0 ? label(name) : pad}${v}`);
  };
  const container = s.containerId
    ? `${s.containerId}${a?.cni?.cniNetwork ? ` (CNI network ${a.cni.cniNetwork})` : ''}`
    : '-';
  return [
    ...list('Addresses:', addressLines(a, s)),
    `${label('Gateway:')}${s.gateway || '-'}`,
    ...list('Routes:', s.routes.length ? s.routes.map((r) => `${r.destination} via ${r.via}`) : ['-']),
    `${label('VLAN:')}${s.vlanId || '-'}`,
    `${label('Workload IF:')}${s.workloadIfName || '-'}`,
    `${label('Container:')}${container}`,
  ];
}
