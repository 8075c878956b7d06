// TAP devices: rtnetlink cannot create them ("tun/tap creation via rtnetlink is not
// supported"), so we use /dev/net/tun: TUNSETIFF names it, TUNSETPERSIST keeps it after close.
import { DataplaneError } from '../errors.js';
import * as c from '../nl/constants.js';
import * as libc from './libc.js';
import type { NetnsEntry } from './netns.js';

export interface TapOptions {
  name: string;
  owner?: number;
  groupOwner?: number;
  multiQueue?: boolean;
  vnetHdr?: boolean;
}

const IFREQ_SIZE = 40;
const EBUSY = 16;

/**
 * Creates the TAP; false when the name is taken (by anything: IFF_TUN_EXCL makes the kernel
 * answer EBUSY instead of attaching us to an existing TAP), so the caller looks it up then and
 * a new TAP costs no lookup first. `netns`: where to create it (null: here).
 */
export function createPersistentTap(netns: NetnsEntry | null, o: TapOptions): boolean {
  const op = 'create tap';
  // The device is created in the namespace /dev/net/tun was opened in.
  const open = (): number => libc.open('/dev/net/tun', libc.O_RDWR | libc.O_CLOEXEC);
  const fd = netns ? netns.run(op, open) : open();
  if (fd < 0) throw DataplaneError.fromErrno(op, o.name, libc.errno(), 'cannot open /dev/net/tun');
  try {
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.write(o.name, 0, 15, 'utf8');
    let flags = c.IFF_TAP | c.IFF_NO_PI | c.IFF_TUN_EXCL;
    if (o.multiQueue) flags |= c.IFF_MULTI_QUEUE;
    if (o.vnetHdr) flags |= c.IFF_VNET_HDR;
    ifr.writeUInt16LE(flags, 16);
    if (libc.ioctlPtr(fd, c.TUNSETIFF, ifr) < 0) {
      const errno = libc.errno();
      if (errno === EBUSY) return false;
      throw DataplaneError.fromErrno(op, o.name, errno, 'TUNSETIFF failed');
    }
    if (o.owner !== undefined) check(libc.ioctlInt(fd, c.TUNSETOWNER, o.owner), op, o.name, 'TUNSETOWNER');
    if (o.groupOwner !== undefined) check(libc.ioctlInt(fd, c.TUNSETGROUP, o.groupOwner), op, o.name, 'TUNSETGROUP');
    check(libc.ioctlInt(fd, c.TUNSETPERSIST, 1), op, o.name, 'TUNSETPERSIST');
    return true;
  } finally {
    libc.close(fd);
  }
}

function check(rc: number, op: string, name: string, what: string): void {
  if (rc < 0) {
    const errno = libc.errno();
    throw DataplaneError.fromErrno(op, name, errno, `${what} failed`);
  }
}
