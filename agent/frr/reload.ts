// Putting a configuration in force: frr.conf written durably (temporary file, fsync, rename,
// fsync of the directory; owned by frr:frr, mode 640 as FRR's own scripts leave it), then
// applied with frr-reload.py, which compares the file with the running configuration and sends
// only the difference through vtysh: a changed description or an added peer does not restart
// the sessions that stay.
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { configDirOf, configFileOf, describeInstance, frrOwner, type FrrInstance } from './instance.js';

/** frr-reload.py runs vtysh a few times; a healthy instance answers in well under a second. */
const RELOAD_TIMEOUT_MS = 60_000;

/** Writes /etc/frr/NAME/frr.conf so that a crash leaves the old file or the new one, never a mix. */
export async function writeFrrConfig(instance: FrrInstance, text: string): Promise<void> {
  const file = configFileOf(instance);
  const dir = configDirOf(instance);
  const tmp = path.join(dir, `.frr.conf.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    const owner = await frrOwner();
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const fh = await open(tmp, 'w', 0o640);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chown(tmp, owner.uid, owner.gid);
    await chmod(tmp, 0o640);
    await rename(tmp, file);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`write ${file} for ${describeInstance(instance)}: ${errText(err)}`);
  }
}

/** The configuration file as it is on disk; null when there is none. */
export async function readFrrConfig(instance: FrrInstance): Promise<string | null> {
  return readFile(configFileOf(instance), 'utf8').catch(() => null);
}

/** Applies frr.conf to the running daemons (`frr-reload.py --reload`); throws with FRR's own words on failure. */
export async function reloadFrr(instance: FrrInstance): Promise<void> {
  const file = configFileOf(instance);
  const args = ['--reload', '--stdout', ...(instance.pathspace ? ['--pathspace', instance.pathspace] : []), file];
  const r = await execa(path.join(instance.binDir, 'frr-reload.py'), args, { reject: false, timeout: RELOAD_TIMEOUT_MS, stdin: 'ignore', all: true });
  if (r.exitCode === 0 && !r.timedOut) return;
  const why = r.timedOut ? `no answer within ${RELOAD_TIMEOUT_MS / 1000} s` : `exit ${r.exitCode ?? r.signal}`;
  throw new Error(`reload ${describeInstance(instance)} from ${file}: ${why}${reloadErrors(r.all ?? '')}`);
}

/** The lines of frr-reload.py's output that say what went wrong (its log is chatty). */
export function reloadErrors(output: string): string {
  const lines = output.split('\n')
    .filter((l) => !l.includes('vtysh.conf'))
    .filter((l) => /ERROR|error|not running|Unknown command|failed|%/.test(l))
    .map((l) => l.replace(/^\d{4}-\d\d-\d\d [\d:,]+\s+/, '').trim())
    .filter((l) => l !== '');
  const tail = lines.length > 0 ? lines.slice(-3) : output.trim().split('\n').slice(-2);
  const text = tail.join('; ').slice(0, 500);
  return text ? `: ${text}` : '';
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
