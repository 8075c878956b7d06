// FRR's daemons of one instance, by pid: found through their pid files (/var/run/frr/NAME/*.pid),
// started detached (-d: they outlive the agent, so an agent restart or kill -9 disturbs no BGP
// session and no FDB entry FRR installed) inside the instance's network namespace, and
// stopped by pid. A pid file is trusted only when the process it names is alive, is that
// daemon of that pathspace (its command line says so: pids get reused), and runs in the
// expected network namespace.
import { access, chmod, chown, mkdir, readFile, readlink, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { netnsPath } from '../../dataplane/netns-path.js';
import {
  configDirOf, FRR_DAEMONS, frrInstance, frrOwner, pathspaceArgs, pidFileOf, runDirOf, describeInstance,
  type FrrDaemon, type FrrInstance,
} from './instance.js';

export interface RunningDaemon {
  daemon: FrrDaemon;
  pid: number;
  /** Runs in the instance's network namespace (false: someone started it elsewhere). */
  inNetns: boolean;
}

export type DaemonSet = Record<FrrDaemon, RunningDaemon | null>;

/** How long a daemon may take to detach (it returns once it is up). */
const START_TIMEOUT_MS = 15_000;
/** SIGTERM first; SIGKILL after this. */
const STOP_GRACE_MS = 5_000;

/** Alive and not a zombie (a zombie still answers kill(pid, 0)). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the state follows the last ')' (comm may contain one).
    const state = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Whether `argv` is `daemon` of this instance's pathspace. */
export function isDaemonOf(instance: FrrInstance, daemon: FrrDaemon, argv: readonly string[]): boolean {
  if (argv.length === 0 || path.basename(argv[0]!) !== daemon) return false;
  const n = argv.findIndex((a) => a === '-N' || a === '--pathspace');
  const named = n >= 0 ? argv[n + 1] ?? '' : argv.find((a) => a.startsWith('--pathspace='))?.slice('--pathspace='.length) ?? '';
  return named === instance.pathspace;
}

/** The namespace identity ("net:[inode]") of a process or of the instance's namespace. */
async function netnsId(p: string): Promise<string | null> {
  try {
    if (p.startsWith('/proc/')) return await readlink(p);
    const s = await stat(p);
    return `net:[${s.ino}]`;
  } catch {
    return null;
  }
}

/** The daemon the pid file names, if it is really running; null otherwise. */
export async function findDaemon(instance: FrrInstance, daemon: FrrDaemon): Promise<RunningDaemon | null> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(pidFileOf(instance, daemon), 'utf8')).trim(), 10);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !(await isAlive(pid))) return null;
  const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((s) => s.split('\0').filter((a) => a !== '')).catch(() => []);
  if (!isDaemonOf(instance, daemon, argv)) return null;
  const [theirs, ours] = await Promise.all([
    netnsId(`/proc/${pid}/ns/net`),
    netnsId(instance.netns === null ? '/proc/self/ns/net' : netnsPath(instance.netns)),
  ]);
  return { daemon, pid, inNetns: theirs !== null && theirs === ours };
}

/** Every daemon hostnet runs, as found now. */
export async function findDaemons(instance: FrrInstance): Promise<DaemonSet> {
  const [zebra, bgpd] = await Promise.all(FRR_DAEMONS.map((d) => findDaemon(instance, d)));
  return { zebra: zebra ?? null, bgpd: bgpd ?? null };
}

/** How to run a program inside the instance's namespace: `ip netns exec` by name (it also shows the namespace's own /sys), nsenter by path. */
function inNetns(instance: FrrInstance, file: string, args: string[]): { file: string; args: string[] } {
  if (instance.netns === null) return { file, args };
  if (instance.netns.includes('/')) return { file: 'nsenter', args: [`--net=${instance.netns}`, '--', file, ...args] };
  return { file: 'ip', args: ['netns', 'exec', instance.netns, file, ...args] };
}

/** The run-time directory (the daemons write pid files and sockets there as user frr) and a vtysh.conf (vtysh complains on every call without one). */
async function prepare(instance: FrrInstance): Promise<void> {
  const owner = await frrOwner();
  for (const dir of [runDirOf(instance), configDirOf(instance)]) {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    await chown(dir, owner.uid, owner.gid);
    await chmod(dir, 0o750);
  }
  const vtyshConf = path.join(configDirOf(instance), 'vtysh.conf');
  if (!(await access(vtyshConf).then(() => true, () => false))) {
    await writeFile(vtyshConf, 'service integrated-vtysh-config\n', { mode: 0o640 });
    await chown(vtyshConf, owner.uid, owner.gid);
  }
}

/**
 * Starts one daemon detached: `-d` (it forks, the parent returns once the daemon is up),
 * `-F datacenter` (the defaults profile frr.conf names), `-P 0` (no TCP vty: several
 * instances share a host, vtysh talks over the unix sockets). Its configuration comes from a
 * reload afterwards.
 */
export async function startDaemon(instance: FrrInstance, daemon: FrrDaemon): Promise<RunningDaemon> {
  const what = `start ${daemon} of ${describeInstance(instance)}`;
  try {
    await prepare(instance);
  } catch (err) {
    throw new Error(`${what}: prepare ${runDirOf(instance)}: ${errText(err)}`);
  }
  // zebra: a large netlink receive buffer, as Debian's defaults give it (a burst of FDB events).
  const extra = daemon === 'zebra' ? ['-s', '90000000'] : [];
  const cmd = inNetns(instance, path.join(instance.binDir, daemon), [...pathspaceArgs(instance), '-d', '-F', 'datacenter', '-P', '0', ...extra]);
  const r = await execa(cmd.file, cmd.args, { reject: false, timeout: START_TIMEOUT_MS, stdin: 'ignore' });
  const output = `${r.stderr}\n${r.stdout}`.trim().split('\n').filter((l) => !/Disabling MPLS support/.test(l)).join('; ');
  if (r.timedOut) throw new Error(`${what}: did not detach within ${START_TIMEOUT_MS / 1000} s${output ? `: ${output}` : ''}`);
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode ?? r.signal}${output ? `: ${output}` : ''}`);
  const found = await findDaemon(instance, daemon);
  if (!found) throw new Error(`${what}: it exited at once or wrote no pid file ${pidFileOf(instance, daemon)}${output ? `: ${output}` : ''}`);
  return found;
}

/** Stops one daemon by pid: SIGTERM, then SIGKILL after a grace period; its pid file goes. */
export async function stopDaemon(instance: FrrInstance, running: RunningDaemon): Promise<void> {
  const { pid, daemon } = running;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw new Error(`stop ${daemon} (pid ${pid}) of ${describeInstance(instance)}: ${errText(err)}`);
    }
  };
  signal('SIGTERM');
  if (!(await exited(pid, STOP_GRACE_MS))) {
    signal('SIGKILL');
    if (!(await exited(pid, STOP_GRACE_MS))) throw new Error(`stop ${daemon} (pid ${pid}) of ${describeInstance(instance)}: still alive after SIGKILL`);
  }
  // FRR leaves its pid file behind when killed; a stale one would only be re-checked, but go tidy.
  const file = pidFileOf(instance, daemon);
  const named = await readFile(file, 'utf8').then((s) => Number.parseInt(s.trim(), 10), () => null);
  if (named === pid) await unlink(file).catch(() => undefined);
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  for (;;) {
    if (!(await isAlive(pid))) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface StopInstanceOptions {
  /** The daemons' network namespace, for the identity check (default: any; matched by pathspace). */
  netns?: string | null;
  /** Also remove /etc/frr/NAME and /var/run/frr/NAME (tests and labs; never the default instance). */
  removeFiles?: boolean;
}

/**
 * Stops every daemon of an FRR instance by its pid files (bgpd first: its sessions close with
 * a notification while zebra still runs), whatever namespace they run in. For tests, labs and
 * a node leaving BGP; returns the pids stopped.
 */
export async function stopFrrInstance(pathspace: string, options: StopInstanceOptions = {}): Promise<number[]> {
  const instance = frrInstance(pathspace, options.netns ?? null);
  const stopped: number[] = [];
  const errors: string[] = [];
  for (const daemon of [...FRR_DAEMONS].reverse()) {
    const running = await findDaemon(instance, daemon);
    if (!running) continue;
    try {
      await stopDaemon(instance, running);
      stopped.push(running.pid);
    } catch (err) {
      errors.push(errText(err));
    }
  }
  if (options.removeFiles && pathspace !== '') {
    await rm(configDirOf(instance), { recursive: true, force: true });
    await rm(runDirOf(instance), { recursive: true, force: true });
  }
  if (errors.length > 0) throw new Error(errors.join('; '));
  return stopped;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
