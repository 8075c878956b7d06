// Debian's podman as a real CNI runtime for tests, with nothing pulled and nothing of the
// host's touched. Everything podman keeps (storage, locks, events, CNI configs and cache) lives
// in one temporary directory; containers run from a local root filesystem (busybox and the
// libraries it links) with --rootfs. podman itself runs with `nsenter --net` in a test network
// namespace, so the networks it sets up (a CNI bridge lives in podman's own namespace) stay out
// of the host's, and in a mount namespace of its own (`unshare -m --propagation unchanged`):
// - /run/netns stays shared with the host, so the namespace podman makes for a container
//   (/run/netns/netns-<uuid>) is visible to an agent outside, which opens it by that path;
// - on a hybrid cgroup host (v1 controllers plus a cgroup2 'unified' mount with controllers)
//   crun refuses to run ("cgroups in hybrid mode not supported"), even with cgroups disabled:
//   the private copy of /sys/fs/cgroup/unified is unmounted there (the host's stays);
// - libcni's cache (/var/lib/cni) is a directory of the sandbox.
// `ip netns exec` is not used: it remounts /sys, and crun then finds no cgroup filesystem.
import { execa, type Result } from 'execa';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { netnsPath } from '../../dataplane/netns-path.js';

/** The applets the tests use inside containers. */
const APPLETS = ['sh', 'ip', 'ping', 'cat', 'sleep', 'true'];
/** libcni's default cache directory, which podman 4.3 does not let us move. */
const CNI_CACHE = '/var/lib/cni';

export interface PodmanSandbox {
  dir: string;
  rootfs: string;
  cniConfDir: string;
  pluginDir: string;
  /** `podman ARGS` in the sandbox; never throws, the result says how it went. */
  podman(args: string[], timeoutMs?: number): Promise<Result<{ reject: false; all: true }>>;
  /** Writes <cniConfDir>/<name>.conflist. */
  conflist(name: string, conf: Record<string, unknown>): Promise<void>;
  /** Removes every container (CNI DEL runs for each), then the directory. */
  destroy(): Promise<void>;
}

/** The files `ldd` says `binary` loads: "libc.so.6 => /lib/.../libc.so.6 (0x..)" and the loader. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const r = await execa('ldd', [binary], { reject: false });
  if (r.exitCode !== 0) return []; // "not a dynamic executable": busybox-static
  return [...r.stdout.matchAll(/(?:=> )?(\/\S+) \(0x/g)].map((m) => m[1]!);
}

/** A root filesystem with busybox (and the libraries it needs): enough for sh, ip and ping. */
async function makeRootfs(rootfs: string): Promise<void> {
  const busybox = (await execa('sh', ['-c', 'command -v busybox'])).stdout.trim();
  await mkdir(path.join(rootfs, 'bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'etc', 'tmp', 'run']) await mkdir(path.join(rootfs, d), { recursive: true });
  await copyFile(busybox, path.join(rootfs, 'bin/busybox'));
  for (const lib of await sharedLibraries(busybox)) {
    await mkdir(path.join(rootfs, path.dirname(lib)), { recursive: true });
    await copyFile(lib, path.join(rootfs, lib));
  }
  for (const a of APPLETS) await symlink('busybox', path.join(rootfs, 'bin', a));
}

/**
 * containers.conf for a root podman that leaves the host alone. Each line is there because
 * podman 4.3 failed here without it:
 * - cgroups disabled, cgroupfs: no systemd, and crun cannot place containers in hybrid cgroups;
 * - ulimits below the hard limits we have: podman asks for nofile/nproc 1048576 and, without
 *   CAP_SYS_RESOURCE, crun's setrlimit fails with EPERM;
 * - conmon_env_vars pass the sandbox's config to `podman container cleanup`, which conmon runs
 *   when a container exits: without it, that process uses the default locks (/dev/shm);
 * - no static_dir: the cleanup process is given --root and derives its database from it, so a
 *   separate static_dir makes it look in another database and `podman run` waits 20 s for an
 *   exit code that never comes.
 */
function containersConf(dir: string, cniConfDir: string, pluginDirs: string[], nofile: number, nproc: number): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    '[containers]',
    'cgroups = "disabled"',
    `default_ulimits = [${q(`nofile=${nofile}:${nofile}`)}, ${q(`nproc=${nproc}:${nproc}`)}]`,
    '[network]',
    'network_backend = "cni"',
    `network_config_dir = ${q(cniConfDir)}`,
    `cni_plugin_dirs = [${pluginDirs.map(q).join(', ')}]`,
    'default_network = "hp-default"',
    '[engine]',
    `conmon_env_vars = [${q('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')}, ${q(`CONTAINERS_CONF=${dir}/containers.conf`)}, ${q(`CONTAINERS_STORAGE_CONF=${dir}/storage.conf`)}]`,
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = ${q(`${dir}/events.log`)}`,
    'runtime = "crun"',
    `tmp_dir = ${q(`${dir}/tmp`)}`,
    `volume_path = ${q(`${dir}/volumes`)}`,
    'lock_type = "file"',
    '',
  ].join('\n');
}

/** Our hard limit named `name` in /proc/self/limits (podman inherits it). */
async function hardLimit(name: string): Promise<number> {
  const line = (await readFile('/proc/self/limits', 'utf8')).split('\n').find((l) => l.startsWith(name));
  const hard = line?.slice(name.length).trim().split(/\s+/)[1];
  if (!hard) throw new Error(`read /proc/self/limits: no "${name}" line`);
  return hard === 'unlimited' ? Infinity : Number(hard);
}

/**
 * A sandbox whose podman runs in `netns`. `plugins`: executables to put in the sandbox's
 * plugin directory (name -> script text), searched before Debian's /usr/lib/cni.
 */
export async function podmanSandbox(netns: string, plugins: Record<string, string> = {}): Promise<PodmanSandbox> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-hp-podman-'));
  try {
    return await setUp(dir, netns, plugins);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function setUp(dir: string, netns: string, plugins: Record<string, string>): Promise<PodmanSandbox> {
  const rootfs = path.join(dir, 'rootfs');
  const cniConfDir = path.join(dir, 'cni-conf');
  const pluginDir = path.join(dir, 'plugins');
  for (const d of [cniConfDir, pluginDir, path.join(dir, 'tmp'), path.join(dir, 'cni-cache')]) await mkdir(d, { recursive: true });
  await makeRootfs(rootfs);
  for (const [name, text] of Object.entries(plugins)) await writeFile(path.join(pluginDir, name), text, { mode: 0o755 });
  // Small fixed limits (the containers run sh, ip and ping), below any hard limit we may
  // have: podman lowers its own RLIMIT_NPROC (to 32768 here), and crun may not raise it.
  const nofile = Math.min(1024, await hardLimit('Max open files'));
  const nproc = Math.min(4096, await hardLimit('Max processes'));
  await writeFile(path.join(dir, 'containers.conf'), containersConf(dir, cniConfDir, [pluginDir, '/usr/lib/cni'], nofile, nproc));
  await writeFile(path.join(dir, 'storage.conf'),
    `[storage]\ndriver = "vfs"\ngraphroot = ${JSON.stringify(`${dir}/root`)}\nrunroot = ${JSON.stringify(`${dir}/runroot`)}\n`);
  // libcni needs its cache directory to exist; a bind mount needs a mount point.
  await mkdir(CNI_CACHE, { recursive: true });

  const env = { CONTAINERS_CONF: path.join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'), LC_ALL: 'C' };
  const inner = [
    'set -e',
    // Each mount changed is made private first, so that nothing propagates to the host (on a
    // systemd host mounts are shared); /run/netns, a mount of its own, keeps its propagation.
    'if mountpoint -q /sys/fs/cgroup/unified; then mount --make-private /sys/fs/cgroup/unified; umount /sys/fs/cgroup/unified; fi',
    `mount --make-private "$(findmnt -n -o TARGET -T ${CNI_CACHE})"`,
    `mount --bind ${JSON.stringify(path.join(dir, 'cni-cache'))} ${CNI_CACHE}`,
    'exec podman "$@"',
  ].join('\n');
  const podman = (args: string[], timeoutMs = 60_000): Promise<Result<{ reject: false; all: true }>> =>
    execa('nsenter', [`--net=${netnsPath(netns)}`, '--', 'unshare', '-m', '--propagation', 'unchanged', '--', 'sh', '-c', inner, 'podman', ...args],
      { reject: false, all: true, timeout: timeoutMs, env });

  return {
    dir, rootfs, cniConfDir, pluginDir, podman,
    conflist: (name, conf) => writeFile(path.join(cniConfDir, `${name}.conflist`), JSON.stringify(conf, null, 2)),
    destroy: async () => {
      await podman(['rm', '--all', '--force', '--time', '0']);
      // `podman container cleanup`, which conmon starts when a container exits, may still be
      // writing in tmp/ when podman has returned: retried on ENOTEMPTY.
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}
