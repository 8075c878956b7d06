// The device's usable link-local address. RAs must come from one (RFC 4861 4.2, 6.1.2: hosts
// drop an RA whose source is not link-local), and a bridge may have none yet: while it has no
// carrier addrconf has not run, and right after that the address is tentative (DAD) for about
// a second. The kernel would then pick another source (a global address) or fail, so the
// advertiser asks here first and waits while there is none.
import { readFileSync } from 'node:fs';
import { inNetns } from '../../dataplane/netlink/netns.js';
import { bytesToIp } from '../../dataplane/ip.js';

const SCOPE_LINK = 0x20;
// include/uapi/linux/if_addr.h: not usable as a source while DAD runs or after it failed.
const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;

/** Parses /proc/net/if_inet6 ("addr32hex ifindex plen scope flags name" per line). */
export function parseIfInet6(text: string): { address: string; ifindex: number; scope: number; flags: number }[] {
  const out: { address: string; ifindex: number; scope: number; flags: number }[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/.test(f[0]!)) continue;
    out.push({ address: bytesToIp(Buffer.from(f[0]!, 'hex'), 0, 16), ifindex: parseInt(f[1]!, 16), scope: parseInt(f[3]!, 16), flags: parseInt(f[4]!, 16) });
  }
  return out;
}

/** The first link-local address of `ifindex` that has passed DAD; null when there is none. */
export function usableLinkLocal(text: string, ifindex: number): string | null {
  const a = parseIfInet6(text).find((x) => x.ifindex === ifindex && x.scope === SCOPE_LINK && (x.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) === 0);
  return a?.address ?? null;
}

/**
 * Reads the namespace's address table. /proc/thread-self/net follows the calling thread's
 * namespace, so it is read while the thread is inside `netns` (synchronously, like sockets).
 */
export function readLinkLocal(netns: string | null, ifindex: number): string | null {
  const text = inNetns(netns, 'read IPv6 addresses', () => readFileSync('/proc/thread-self/net/if_inet6', 'utf8'));
  return usableLinkLocal(text, ifindex);
}
