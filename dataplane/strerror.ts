// glibc's strerror texts back to errno names: the tools hostnet runs (ip, nft, conntrack, with
// LC_ALL=C) print errors as these texts, and DataplaneError carries the errno name.
/** glibc strerror texts -> errno names. */
export const strerrorCodes: Record<string, string> = {
  'Operation not permitted': 'EPERM',
  'No such file or directory': 'ENOENT',
  'No such process': 'ESRCH',
  'Interrupted system call': 'EINTR',
  'Input/output error': 'EIO',
  'No such device or address': 'ENXIO',
  'Argument list too long': 'E2BIG',
  'Bad file descriptor': 'EBADF',
  'Resource temporarily unavailable': 'EAGAIN',
  'Cannot allocate memory': 'ENOMEM',
  'Permission denied': 'EACCES',
  'Device or resource busy': 'EBUSY',
  'File exists': 'EEXIST',
  'No such device': 'ENODEV',
  'Invalid argument': 'EINVAL',
  'Too many open files': 'EMFILE',
  'No space left on device': 'ENOSPC',
  'Numerical argument out of domain': 'EDOM',
  'Numerical result out of range': 'ERANGE',
  'Too many levels of symbolic links': 'ELOOP',
  'File name too long': 'ENAMETOOLONG',
  'Function not implemented': 'ENOSYS',
  'Message too long': 'EMSGSIZE',
  'Protocol not supported': 'EPROTONOSUPPORT',
  'Operation not supported': 'EOPNOTSUPP',
  'Address family not supported by protocol': 'EAFNOSUPPORT',
  'Address already in use': 'EADDRINUSE',
  'Cannot assign requested address': 'EADDRNOTAVAIL',
  'Network is down': 'ENETDOWN',
  'Network is unreachable': 'ENETUNREACH',
  'No buffer space available': 'ENOBUFS',
  'Transport endpoint is not connected': 'ENOTCONN',
  'Connection timed out': 'ETIMEDOUT',
  'Connection refused': 'ECONNREFUSED',
  'No route to host': 'EHOSTUNREACH',
  'Not supported': 'ENOTSUP',
  'Protocol error': 'EPROTO',
};

/** The errno name of the first strerror text found in `text` (EINVAL when there is none). */
export function errnoIn(text: string): string {
  for (const [message, code] of Object.entries(strerrorCodes)) if (text.includes(message)) return code;
  return 'EINVAL';
}
