// Input checks shared by both backends: refuse bad input before anything reaches the kernel,
// with a message that names the field and the rule.
import { invalid } from './errors.js';
import { canonicalIp, parseIp } from './ip.js';

export const IFNAMSIZ = 16;

export function checkIfName(op: string, name: string, field = 'name'): void {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) throw invalid(op, JSON.stringify(name), `${field} is empty`);
  if (bytes > IFNAMSIZ - 1) {
    throw invalid(op, name, `${field} "${name}" is ${bytes} bytes; Linux allows at most ${IFNAMSIZ - 1}`);
  }
  if (name === '.' || name === '..' || /[\s/:]/.test(name)) {
    throw invalid(op, name, `${field} "${name}" may not be "." or "..", nor contain whitespace, "/" or ":"`);
  }
}

const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function checkMac(op: string, object: string, mac: string, field = 'mac', unicast = true): void {
  if (!macPattern.test(mac)) throw invalid(op, object, `${field} "${mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  if (!unicast) return;
  const first = parseInt(mac.slice(0, 2), 16);
  if (first & 1) throw invalid(op, object, `${field} "${mac}" is a multicast address; a device needs a unicast MAC`);
  if (/^(00:){5}00$/.test(mac)) throw invalid(op, object, `${field} "${mac}" is all zeros`);
}

export function checkVlanId(op: string, object: string, id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 4094) {
    throw invalid(op, object, `VLAN id ${id} is out of range: 802.1Q allows 1..4094`);
  }
}

export function checkMtu(op: string, object: string, mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw invalid(op, object, `MTU ${mtu} is out of range 68..65535`);
  }
}

export function checkVni(op: string, object: string, vni: number): void {
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) {
    throw invalid(op, object, `VNI ${vni} is out of range 0..16777215`);
  }
}

export function checkIp(op: string, object: string, ip: string, field: string): 4 | 6 {
  const parsed = parseIp(ip);
  if (!parsed) throw invalid(op, object, `${field} "${ip}" is not an IP address`);
  return parsed.family;
}

export function checkCidr(op: string, object: string, cidr: string, field = 'address'): { family: 4 | 6; ip: string; prefix: number } {
  const slash = cidr.indexOf('/');
  if (slash < 0) throw invalid(op, object, `${field} "${cidr}" needs a prefix length, e.g. 192.0.2.1/24`);
  const ip = cidr.slice(0, slash);
  const family = checkIp(op, object, ip, field);
  const prefixText = cidr.slice(slash + 1);
  const prefix = Number(prefixText);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(prefixText) || prefix > max) {
    throw invalid(op, object, `${field} "${cidr}" has prefix length "${prefixText}"; IPv${family} allows 0..${max}`);
  }
  return { family, ip: canonicalIp(ip)!, prefix };
}

export function checkUint(op: string, object: string, value: number, field: string, max = 0xffffffff): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(op, object, `${field} ${value} is not an integer in 0..${max}`);
  }
}

/** Checks the attributes common to every link spec. */
export function checkLinkAttrs(op: string, attrs: {
  name: string; mtu?: number; mac?: string; group?: number; master?: string | null; alias?: string;
}): void {
  checkIfName(op, attrs.name);
  if (attrs.mtu !== undefined) checkMtu(op, attrs.name, attrs.mtu);
  if (attrs.mac !== undefined) checkMac(op, attrs.name, attrs.mac);
  if (attrs.group !== undefined) checkUint(op, attrs.name, attrs.group, 'group');
  if (attrs.master) checkIfName(op, attrs.master, 'master');
  if (attrs.alias !== undefined) checkAlias(op, attrs.name, attrs.alias);
}

/** IFALIASZ is 256 including the terminating NUL. */
export function checkAlias(op: string, object: string, alias: string): void {
  const bytes = Buffer.byteLength(alias);
  if (bytes > 255) throw invalid(op, object, `alias is ${bytes} bytes; Linux allows at most 255`);
}
