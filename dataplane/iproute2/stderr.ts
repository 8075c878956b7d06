// iproute2 reports failures as text: "RTNETLINK answers: <strerror>" when the kernel sent no
// extended ack, "Error: <extack>." when it did (then the errno is not printed at all), or its
// own messages for names it could not resolve. This turns that text back into an errno name.
import { strerrorCodes } from '../strerror.js';


/**
 * Extended-ack messages (and iproute2's own texts) whose errno iproute2 does not print.
 * Anything not listed is reported as EINVAL, which is what the kernel uses for most of them.
 */
const messageCodes: [RegExp, string][] = [
  [/^Cannot find device|Device does not exist|^Device ".*" does not exist/i, 'ENODEV'],
  [/Unknown device type|not supported|Cannot change/i, 'EOPNOTSUPP'],
  [/already assigned|already exists/i, 'EEXIST'],
  [/address not found/i, 'EADDRNOTAVAIL'],
  [/Can not enslave a bridge to a bridge/i, 'ELOOP'],
  [/Invalid "netns" value|Cannot open network namespace/i, 'ENOENT'],
  [/Nexthop has invalid gateway|Nexthop device is not up/i, 'EINVAL'],
  [/Device is busy|Device or resource busy/i, 'EBUSY'],
];

export interface ParsedFailure {
  code: string;
  /** The most specific line: the extack text, the strerror text or iproute2's message. */
  detail: string;
}

export function parseFailure(text: string): ParsedFailure {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  for (const line of lines) {
    const m = /^RTNETLINK answers: (.*)$/.exec(line);
    if (m?.[1] !== undefined) return { code: strerrorCodes[m[1]] ?? 'EIO', detail: m[1] };
  }
  const extack = lines.find((l) => l.startsWith('Error: '));
  const detail = (extack ? extack.slice('Error: '.length) : lines.join('; ')).replace(/\.$/, '');
  // "ioctl(TUNSETIFF): Device or resource busy", "setting the network namespace "x" failed: ..."
  for (const line of lines) {
    const tail = /: ([^:]+)$/.exec(line)?.[1];
    if (tail !== undefined && strerrorCodes[tail] !== undefined) return { code: strerrorCodes[tail], detail: line };
  }
  for (const [pattern, code] of messageCodes) if (pattern.test(detail)) return { code, detail };
  return { code: 'EINVAL', detail: detail.length > 0 ? detail : 'ip failed without a message' };
}
