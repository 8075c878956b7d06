// Child processes that need syscalls Node lacks, written for node + koffi (no python on a
// fresh CI machine): a systemd notify socket stand-in (AF_UNIX datagrams) and a "VM" holding
// a TAP open (TUNSETIFF), as QEMU does. Run from the repository root so koffi resolves.
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

const libc = `
import koffi from 'koffi';
const lib = koffi.load('libc.so.6');
const socket = lib.func('int socket(int, int, int)');
const bind = lib.func('int bind(int, const void *, uint32_t)');
const recv = lib.func('intptr_t recv(int, void *, size_t, int)');
const open = lib.func('int open(const char *, int)');
const ioctl = lib.func('int ioctl(int, unsigned long, void *)');
`;

/** Prints "listening", then each datagram received on the AF_UNIX socket argv[1] ('@' = abstract). */
export const NOTIFY_LISTENER_JS = `${libc}
const target = process.argv[1];
const name = target.startsWith('@') ? Buffer.concat([Buffer.from([0]), Buffer.from(target.slice(1))]) : Buffer.from(target + '\\0');
const addr = Buffer.alloc(2 + name.length);
addr.writeUInt16LE(1, 0);
name.copy(addr, 2);
const fd = socket(1, 2, 0);
if (fd < 0 || bind(fd, addr, addr.length) !== 0) { console.error('bind failed: errno ' + koffi.errno()); process.exit(1); }
console.log('listening');
const buf = Buffer.alloc(4096);
for (;;) {
  const n = Number(recv(fd, buf, buf.length, 0));
  if (n > 0) console.log(buf.subarray(0, n).toString().replace(/\\n/g, '|'));
}
`;

/** Attaches to the TAP named argv[1] (IFF_TAP | IFF_NO_PI), prints "attached", and holds it. */
export const TAP_HOLDER_JS = `${libc}
const fd = open('/dev/net/tun', 2);
const ifr = Buffer.alloc(40);
ifr.write(process.argv[1]);
ifr.writeUInt16LE(0x0002 | 0x1000, 16);
if (fd < 0 || ioctl(fd, 0x400454ca, ifr) !== 0) { console.error('TUNSETIFF failed: errno ' + koffi.errno()); process.exit(1); }
console.log('attached');
setInterval(() => {}, 1 << 30);
`;

/** Arguments for `node` to run one of the scripts above with `arg`. */
export function nodeScriptArgs(script: string, arg: string): string[] {
  return ['--input-type=module', '-e', script, arg];
}
