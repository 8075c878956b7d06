// Syntax checks of what the runtime asks for (static IPs, a MAC), done before the agent is asked
// so that a typo in a network configuration is the spec's error 7, not a round trip.
import { isIP } from 'node:net';

/** "10.0.0.5" or "10.0.0.5/24" (IPv6 too), the prefix within the family's length. */
export function validIpOrCidr(s: string): boolean {
  const slash = s.indexOf('/');
  const ip = slash < 0 ? s : s.slice(0, slash);
  const family = isIP(ip);
  if (family === 0) return false;
  if (slash < 0) return true;
  const len = s.slice(slash + 1);
  return /^\d{1,3}$/.test(len) && Number(len) <= (family === 4 ? 32 : 128);
}

/** Six hex pairs separated by ':' (or '-'), unicast. */
export function validMac(s: string): boolean {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(s)) return false;
  return (parseInt(s.slice(0, 2), 16) & 1) === 0;
}

/** 4 or 6: which family an address (optionally with /len) is. */
export function familyOf(ipOrCidr: string): 4 | 6 {
  return ipOrCidr.includes(':') ? 6 : 4;
}
