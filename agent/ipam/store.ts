// The auto addresses chosen so far, on disk: <state-dir>/ipam.json, replaced atomically and
// durably before any workload or DHCP client can be given an address, so a restarted agent
// (even after kill -9) hands every attachment the address it had. A file that cannot be read
// is kept aside and reported; the choices then start again from the DHCP leases and hashes.
import { readFile, rename, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { replaceFileDurably } from '../../dataplane/fs.js';
import type { AutoChoices } from './assignments.js';

export const IPAM_FILE = 'ipam.json';

export interface LoadedChoices {
  choices: AutoChoices;
  /** Set when the file was unreadable (it was renamed to `keptAs`). */
  problem?: string;
}

function isChoices(x: unknown): x is AutoChoices {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  return Object.values(x).every((byAttachment) => typeof byAttachment === 'object' && byAttachment !== null
    && Object.values(byAttachment as Record<string, unknown>).every((ips) => Array.isArray(ips) && ips.every((ip) => typeof ip === 'string')));
}

export class AutoChoiceStore {
  constructor(readonly dir: string) {}

  get file(): string {
    return path.join(this.dir, IPAM_FILE);
  }

  async load(): Promise<LoadedChoices> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { choices: {} };
      throw new Error(`read auto addresses ${this.file}: ${(err as Error).message}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      const choices = (parsed as { networks?: unknown }).networks;
      if (!isChoices(choices)) throw new Error('not a {"networks": {network: {attachment: [ip]}}} document');
      return { choices };
    } catch (err) {
      const keptAs = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.file, keptAs);
      return { choices: {}, problem: `auto addresses ${this.file} unreadable (${(err as Error).message}); kept as ${keptAs}` };
    }
  }

  async save(choices: AutoChoices): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await replaceFileDurably(this.file, `${this.file}.tmp`, `${JSON.stringify({ version: 1, networks: choices }, null, 1)}\n`);
  }
}
