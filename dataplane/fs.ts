// Durable files for every part that keeps state (desired state, DHCP leases): a file is
// replaced by temp file + fsync + rename + fsync of the directory, so a crash at any point
// leaves either the old or the new content, never a mix or nothing.
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes a created, renamed or removed directory entry durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `temp` (which must not be `file`), syncs it, and renames it over `file`. */
export async function replaceFileDurably(file: string, temp: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(file));
}
