// Who a unix socket lets in, tested with nothing of the project loaded: the probe is an inline
// `node -e` script run from "/", so it starts wherever the checkout is (also under a directory
// the probing user cannot enter, e.g. /root) and what refuses it can only be the socket itself.
import { chmod, chown, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { CTL_JS } from './agent-process.js';

const PROBE = `const s = require('node:net').connect(process.argv[1]);
s.on('connect', () => { console.log('connected'); s.destroy(); });
s.on('error', (e) => console.log(e.code));`;

const asUser = (uid: number): string[] => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
// Root without the capabilities that bypass file modes: it is then refused like anyone else.
const NO_DAC = ['--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-dac_override,-dac_read_search'];

/** Connects to `socket` (as `uid`, or as this process's user): "connected", or the errno code. */
export async function connectAs(socket: string, uid?: number): Promise<string> {
  const cmd = [...(uid === undefined ? [] : asUser(uid)), process.execPath, '-e', PROBE, socket];
  const r = await execa(cmd[0]!, cmd.slice(1), { cwd: '/', reject: false, timeout: 15_000 });
  if (r.exitCode !== 0 || !r.stdout.trim()) throw new Error(`socket probe as uid ${uid ?? 'self'}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * hostnetctl ARGS against a listening socket that refuses it: the socket belongs to uid 65534,
 * mode 0600, and hostnetctl runs as root without CAP_DAC_OVERRIDE. Root can still read the
 * checkout (its owner), so this runs wherever the checkout is.
 */
export async function hostnetctlRefused(dir: string, args: string[]): Promise<{ exitCode: number | undefined; stderr: string; socket: string }> {
  const socket = path.join(dir, 'refusing.sock');
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
  try {
    await chown(socket, 65534, 65534);
    await chmod(socket, 0o600);
    const r = await execa('setpriv', [...NO_DAC, '--', process.execPath, CTL_JS, '--socket', socket, ...args], { reject: false, timeout: 30_000 });
    return { exitCode: r.exitCode, stderr: r.stderr, socket };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(socket, { force: true });
  }
}
