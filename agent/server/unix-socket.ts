// The agent's unix socket: its directory is created; a stale socket file (left by a crashed
// agent: nobody accepts on it) is replaced; a live one belongs to another agent and is never
// stolen. The socket is made 0660 (root and the socket's group) before anyone can connect:
// the umask is narrowed around the bind, so there is no window with wider permissions.
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const DEFAULT_SOCKET_PATH = '/run/hostnet/agent.sock';
export const SOCKET_MODE = 0o660;

export class SocketInUseError extends Error {
  override readonly name = 'SocketInUseError';
  constructor(readonly socketPath: string) {
    super(`socket ${socketPath} is in use by a running agent (it accepts connections); refusing to take it over`);
  }
}

/** True when something accepts connections on the socket. */
function isLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Makes the path ready for bind: directory created, a stale socket removed, a live one refused. */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  let stat;
  try {
    stat = await fs.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`check socket ${socketPath}: ${(err as Error).message}`);
  }
  if (!stat.isSocket()) throw new Error(`socket path ${socketPath} exists and is not a socket; refusing to replace it`);
  if (await isLive(socketPath)) throw new SocketInUseError(socketPath);
  await fs.unlink(socketPath);
}

/** Runs `bind` with a umask that leaves the new socket at most 0660, then sets 0660 exactly. */
export async function withSocketUmask<T>(socketPath: string, bind: () => Promise<T>): Promise<T> {
  const old = process.umask(0o117);
  let result: T;
  try {
    result = await bind();
  } finally {
    process.umask(old);
  }
  await fs.chmod(socketPath, SOCKET_MODE);
  return result;
}
