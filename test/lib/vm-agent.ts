// The real agent serving a real VM (test/vm): the VM e2e files prepare the fixture (prepare.sh,
// outside any namespace), start the agent in the host namespace, and boot the VM with run.sh
// inside that namespace, so QEMU opens the agent's TAP there.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll } from 'vitest';
import { buildDist } from './agent-process.js';
import type { AgentSession } from './agent-session.js';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
const RUN_SH = path.join(PROJECT_ROOT, 'test/vm/run.sh');
const PREPARE_SH = path.join(PROJECT_ROOT, 'test/vm/prepare.sh');

/** Not inside the guest itself (no nested TCG), and only where run.sh can run: root. */
export const cannotRunVm = process.env['HOSTNET_IN_VM'] !== undefined || process.getuid?.() !== 0;

export const secs = (t0: number): string => ((performance.now() - t0) / 1000).toFixed(1);

/**
 * Hooks of a VM describe: before all, prepare.sh (the first time it downloads the kernel, later
 * ~0 s, or a few seconds to rebuild the initrd), the build, and the agent in `netns()`; after
 * all, the agent stopped (SIGTERM to its pid) and the directory removed. prepareSeconds() is
 * what prepare.sh took.
 */
export function useVmAgent(session: AgentSession, netns: () => string, dirPrefix: string): { prepareSeconds(): string } {
  let prepared = '';
  beforeAll(async () => {
    const t0 = performance.now();
    const r = spawnSync('bash', [PREPARE_SH], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`prepare.sh failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
    prepared = secs(t0);
    await buildDist();
    await session.open(dirPrefix);
    await session.boot(netns());
  }, 720_000);
  afterAll(() => session.close());
  return { prepareSeconds: () => prepared };
}

/**
 * Boots the VM in `netns` with one virtio NIC on `tap` (MAC `mac`), `share` mounted in the guest
 * at the same path, and runs `script` (sh -c) in the guest. run.sh kills its QEMU (by pid) at
 * --timeout; execa's timeout (SIGTERM: run.sh's trap kills QEMU too) is only the backstop.
 */
export function runVm(netns: string, opts: { share: string; tap: string; mac: string; script: string }) {
  return execa('ip', ['netns', 'exec', netns, 'bash', RUN_SH, '--timeout', '300', '--cwd', PROJECT_ROOT,
    '--share', opts.share, '--tap', `${opts.tap}=${opts.mac}`, '--', 'sh', '-c', opts.script],
  { reject: false, all: true, stdin: 'ignore', timeout: 330_000 });
}
