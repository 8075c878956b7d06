// One error type for everything the dataplane refuses or the kernel rejects, so callers can
// branch on `code` (an errno name) and admins read operation, object and cause in one line.
import { constants as osConstants } from 'node:os';

const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, value]) => [value, name]),
);

export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

export function errnoNumber(name: string): number {
  return (osConstants.errno as Record<string, number>)[name] ?? 0;
}

export class DataplaneError extends Error {
  override readonly name = 'DataplaneError';

  constructor(
    /** What was attempted, e.g. "create bridge". */
    readonly op: string,
    /** The object it was attempted on, e.g. the device name. */
    readonly object: string,
    /** errno name, e.g. "EEXIST"; "EINVAL" for input refused before reaching the kernel. */
    readonly code: string,
    /** The kernel's own message (extended ack) or ours. */
    readonly detail: string,
  ) {
    super(`${op} ${object}: ${code}: ${detail}`);
  }

  get errno(): number {
    return errnoNumber(this.code);
  }

  static fromErrno(op: string, object: string, errno: number, kernelMessage?: string): DataplaneError {
    const code = errnoName(errno);
    let detail = kernelMessage && kernelMessage.length > 0 ? kernelMessage : defaultText(code);
    if (code === 'EPERM') detail += ' (hostnet needs CAP_NET_ADMIN: run as root)';
    return new DataplaneError(op, object, code, detail);
  }
}

export function invalid(op: string, object: string, detail: string): DataplaneError {
  return new DataplaneError(op, object, 'EINVAL', detail);
}

const texts: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ENODEV: 'No such device',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
  EOPNOTSUPP: 'Operation not supported',
  ENOBUFS: 'No buffer space available',
  ETIMEDOUT: 'Timed out',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETUNREACH: 'Network is unreachable',
  ERANGE: 'Numerical result out of range',
  ESRCH: 'No such process',
};

function defaultText(code: string): string {
  return texts[code] ?? code;
}
