// One FRR instance as the agent sees it: its pathspace (`-N NAME`), the network namespace its
// daemons run in, and where FRR keeps its files for it. Several instances live side by side on
// one host (one per pathspace): config in /etc/frr/NAME, pid files and vty sockets in
// /var/run/frr/NAME. Pathspace "" is FRR's default instance (/etc/frr, /var/run/frr, no -N).
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The daemons hostnet runs, zebra first: bgpd needs zebra's socket to install anything. */
export const FRR_DAEMONS = ['zebra', 'bgpd'] as const;
export type FrrDaemon = (typeof FRR_DAEMONS)[number];

export interface FrrInstance {
  /** FRR's pathspace; "" is the default instance. */
  readonly pathspace: string;
  /** The network namespace the daemons run in (`ip netns exec`); null: the agent's own. */
  readonly netns: string | null;
  /** Where FRR's daemons and frr-reload.py are (Debian: /usr/lib/frr). */
  readonly binDir: string;
  /** FRR's configuration root (Debian: /etc/frr). */
  readonly etcDir: string;
  /** FRR's run-time root (Debian: /var/run/frr). */
  readonly runDir: string;
  /** The vtysh program. */
  readonly vtysh: string;
}

export const FRR_DEFAULTS = { binDir: '/usr/lib/frr', etcDir: '/etc/frr', runDir: '/var/run/frr', vtysh: 'vtysh' } as const;

export function frrInstance(pathspace: string, netns: string | null = null, overrides: Partial<Omit<FrrInstance, 'pathspace' | 'netns'>> = {}): FrrInstance {
  // The name becomes a path component and a command-line argument.
  if (pathspace !== '' && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(pathspace)) {
    throw new Error(`FRR pathspace "${pathspace}": want letters, digits, '_', '.', '-' (at most 63, not starting with a symbol)`);
  }
  return { pathspace, netns, ...FRR_DEFAULTS, ...overrides };
}

/** /etc/frr/NAME (or /etc/frr). */
export const configDirOf = (i: FrrInstance): string => (i.pathspace ? path.join(i.etcDir, i.pathspace) : i.etcDir);
/** /etc/frr/NAME/frr.conf: the integrated configuration every daemon of the instance reads. */
export const configFileOf = (i: FrrInstance): string => path.join(configDirOf(i), 'frr.conf');
/** /var/run/frr/NAME (or /var/run/frr). */
export const runDirOf = (i: FrrInstance): string => (i.pathspace ? path.join(i.runDir, i.pathspace) : i.runDir);
export const pidFileOf = (i: FrrInstance, daemon: FrrDaemon): string => path.join(runDirOf(i), `${daemon}.pid`);
/** `-N NAME` for daemons and vtysh, nothing for the default instance. */
export const pathspaceArgs = (i: FrrInstance): string[] => (i.pathspace ? ['-N', i.pathspace] : []);
/** How the instance is named in messages. */
export const describeInstance = (i: FrrInstance): string =>
  `FRR ${i.pathspace ? `pathspace "${i.pathspace}"` : 'default instance'}${i.netns ? ` in netns ${i.netns}` : ''}`;

/** The frr user's uid and gid (files FRR reads and directories it writes are its own). */
export async function frrOwner(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const line = passwd.split('\n').find((l) => l.startsWith('frr:'));
  const fields = line?.split(':');
  const uid = Number(fields?.[2]);
  const gid = Number(fields?.[3]);
  if (!fields || !Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('look up user frr in /etc/passwd: not found (is the Debian package frr installed?)');
  return { uid, gid };
}
