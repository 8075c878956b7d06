// The unix socket's group (`socketGroup`): its members may use the agent without being root
// (the socket is 0660). Names are resolved with getent, so groups from NSS work as well as
// /etc/group. Under the packaged unit the agent is root without CAP_CHOWN; it is a member of
// the group (SupplementaryGroups=), which is what lets a file's owner give it that group.
import { chown } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The group's id: a number is taken as is, a name is looked up with `getent group`. */
export async function resolveGroup(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  let out: string;
  try {
    ({ stdout: out } = await run('getent', ['group', group]));
  } catch (err) {
    // getent exits 2 when the key is not found (execFile puts the exit status in `code`).
    const e = err as Error & { code?: unknown };
    if (e.code === 2) throw new Error(`socket group ${group}: no such group (getent group ${group} found nothing)`);
    throw new Error(`socket group ${group}: getent group ${group} failed: ${e.message}`);
  }
  const gid = Number(out.split(':')[2]);
  if (!Number.isInteger(gid)) throw new Error(`socket group ${group}: getent printed no group id ("${out.trim()}")`);
  return gid;
}

/** Gives the socket file the group; the owner stays. */
export async function setSocketGroup(socketPath: string, group: string): Promise<void> {
  const gid = await resolveGroup(group);
  try {
    await chown(socketPath, -1, gid);
  } catch (err) {
    throw new Error(`give socket ${socketPath} the group ${group} (${gid}): ${(err as Error).message}`);
  }
}
