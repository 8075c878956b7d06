// Pure decisions: what to send so the kernel matches a spec, given what it has now.
import { invalid } from '../errors.js';
import * as c from '../nl/constants.js';
import type { LinkFields, RouteFields } from '../nl/index.js';
import type { Link, LinkAttrs, RouteSpec } from '../types.js';
import * as v from '../validate.js';

/** Only the attributes that differ, or null when the link already matches. */
export function planLinkChange(link: Link, spec: LinkAttrs, masterIndex: number | undefined): LinkFields | null {
  const f: LinkFields = {};
  if (spec.mtu !== undefined && spec.mtu !== link.mtu) f.mtu = spec.mtu;
  if (spec.mac !== undefined && spec.mac.toLowerCase() !== link.mac) f.mac = spec.mac.toLowerCase();
  if (spec.group !== undefined && spec.group !== link.group) f.group = spec.group;
  if (masterIndex !== undefined && masterIndex !== (link.masterIndex ?? 0)) f.masterIndex = masterIndex;
  if (spec.alias !== undefined && spec.alias !== (link.alias ?? '')) f.alias = spec.alias;
  if (spec.up !== undefined && spec.up !== link.up) f.up = spec.up;
  return Object.keys(f).length ? f : null;
}

/** `forDelete`: an unset protocol matches any (0), as `ip route del` does. */
export async function routeFields(
  op: string,
  spec: RouteSpec,
  indexOf: (dev: string) => Promise<number>,
  forDelete = false,
): Promise<RouteFields> {
  const object = spec.destination;
  let family = spec.family;
  let dst: string | null = null;
  let dstLen = 0;
  if (spec.destination !== 'default') {
    const d = v.checkCidr(op, object, spec.destination, 'destination');
    family = d.family;
    dst = d.ip;
    dstLen = d.prefix;
  }
  if (spec.via) {
    const viaFamily = v.checkIp(op, object, spec.via, 'via');
    if (family !== undefined && family !== viaFamily) throw invalid(op, object, `via ${spec.via} is IPv${viaFamily}, the destination IPv${family}`);
    family = viaFamily;
  }
  if (!spec.via && !spec.dev) throw invalid(op, object, 'a route needs a gateway (via) or a device (dev)');
  if (spec.metric !== undefined) v.checkUint(op, object, spec.metric, 'metric');
  if (spec.table !== undefined) v.checkUint(op, object, spec.table, 'table');
  if (spec.protocol !== undefined) v.checkUint(op, object, spec.protocol, 'protocol', 255);
  const oif = spec.dev ? await indexOf(spec.dev) : undefined;
  return {
    family: family ?? 4,
    dst,
    dstLen,
    ...(spec.via ? { gateway: spec.via } : {}),
    ...(oif !== undefined ? { oif } : {}),
    protocol: spec.protocol ?? (forDelete ? c.RTPROT_UNSPEC : c.RTPROT_STATIC),
    table: spec.table ?? c.RT_TABLE_MAIN,
    ...(spec.metric !== undefined ? { metric: spec.metric } : {}),
  };
}
