// Sysctls inside a network namespace (per-namespace keys such as a device's
// net.ipv4.conf.<dev>.*), the key in its slash form so a device name with dots stays one path
// component: one key with sysctl(8), or many at once (sysctlBatch) read and written in-process.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { execa } from 'execa';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { DataplaneError } from './errors.js';
import { commandIn } from './netns-path.js';
import { inNetns } from './netlink/netns.js';

/** `path`: the key under /proc/sys, e.g. ["net", "ipv4", "conf", "net1", "promote_secondaries"]. */
export async function setSysctl(netns: string | null, path: readonly string[], value: string): Promise<void> {
  const key = path.join('/');
  const inv = commandIn(netns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
  const r = await execa(inv.file, inv.args, { reject: false });
  if (r.exitCode !== 0) throw new DataplaneError('set sysctl', `${key} in ${netns ?? 'own namespace'}`, 'EIO', (r.stderr || r.message || 'sysctl failed').trim());
}

export interface SysctlBatch {
  /** The values of these keys (slash form, under /proc/sys); null where the key does not exist. */
  read(keys: readonly string[]): Promise<Map<string, string | null>>;
  /** Writes every key, as many as possible; throws naming every key that failed. */
  write(values: ReadonlyArray<readonly [string, string]>): Promise<void>;
}

/** Keys handled per turn of the event loop (each one is an open, a read or write, a close). */
const SLICE = 256;

/**
 * Many sysctls read and written in this process, never a process per key (nor one per batch:
 * for the 3000 keys of 1000 devices a grep and a sh cost more than the files themselves). The
 * files are opened, read or written and closed synchronously on this thread while it is in
 * the namespace (inNetns: /proc/sys/net is the namespace of whoever opens it), a slice at a
 * time so the event loop gets a turn. A key whose file does not exist reads as null.
 */
export function sysctlBatch(netns: string | null): SysctlBatch {
  const where = netns ?? 'own namespace';
  return {
    async read(keys) {
      const out = new Map<string, string | null>();
      const buf = Buffer.alloc(4096);
      for (let from = 0; from < keys.length; from += SLICE) {
        if (from > 0) await yieldToEventLoop();
        const slice = keys.slice(from, from + SLICE);
        for (const k of slice) checkKey('read sysctls', k, where);
        inNetns(netns, 'read sysctls', () => {
          for (const k of slice) out.set(k, readKey(k, buf, where));
        });
      }
      return out;
    },
    async write(values) {
      const failed: Array<{ key: string; err: NodeJS.ErrnoException }> = [];
      for (const [k] of values) checkKey('set sysctl', k, where);
      for (let from = 0; from < values.length; from += SLICE) {
        if (from > 0) await yieldToEventLoop();
        const slice = values.slice(from, from + SLICE);
        inNetns(netns, 'set sysctl', () => {
          for (const [k, v] of slice) {
            try {
              writeKey(k, v);
            } catch (err) {
              failed.push({ key: k, err: err as NodeJS.ErrnoException });
            }
          }
        });
      }
      if (failed.length === 0) return;
      const first = failed[0]!.err;
      throw new DataplaneError('set sysctl', `${failed.map((f) => f.key).join(', ')} in ${where}`, first.code ?? 'EIO', first.message);
    },
  };
}

/** A key is a path under /proc/sys: plain components only. */
/** An empty, "." or ".." component (one test per key: 3000 keys per pass of 1000 devices). */
const BAD_KEY = /(?:^|\/)\.{0,2}(?:\/|$)/;

function checkKey(op: string, key: string, where: string): void {
  if (BAD_KEY.test(key)) {
    throw new DataplaneError(op, `${key} in ${where}`, 'EINVAL', 'a sysctl key is a path under /proc/sys of plain components (e.g. net/ipv4/conf/eth0/forwarding)');
  }
}

function readKey(key: string, buf: Buffer, where: string): string | null {
  let fd: number;
  try {
    fd = openSync(`/proc/sys/${key}`, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw asDataplaneError('read sysctls', key, where, err);
  }
  try {
    return buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, null)).trim();
  } catch (err) {
    throw asDataplaneError('read sysctls', key, where, err);
  } finally {
    closeSync(fd);
  }
}

function writeKey(key: string, value: string): void {
  // No O_CREAT: a missing key fails with ENOENT instead of creating anything.
  const fd = openSync(`/proc/sys/${key}`, 'r+');
  try {
    writeSync(fd, `${value}\n`);
  } finally {
    closeSync(fd);
  }
}

function asDataplaneError(op: string, key: string, where: string, err: unknown): DataplaneError {
  const e = err as NodeJS.ErrnoException;
  return new DataplaneError(op, `${key} in ${where}`, e.code ?? 'EIO', e.message);
}
