// Runs nft in a network namespace: a list of commands as one `nft -j -f FILE` transaction
// (all or nothing, as the kernel commits a batch), and JSON listings. One process per
// transaction, never one per rule (Kubernetes' knftables works the same way). The input goes
// through a private temporary file: nft opens /dev/stdin by path, which fails on the socket
// Node gives a child as its stdin.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { DataplaneError } from '../errors.js';
import { commandIn } from '../netns-path.js';
import { errnoIn } from '../strerror.js';
import type { NftCommand } from './json.js';

const env = { LC_ALL: 'C', LANG: 'C' };

/** nft's first error line without the echoed input, e.g. "Could not process rule: No such file or directory". */
function nftReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !/^\^+$/.test(l));
  const err = lines.find((l) => /Error:|Could not/.test(l)) ?? lines[0] ?? 'nft failed without a message';
  return err.replace(/^.*?Error:\s*/, '');
}

export interface NftRunner {
  /** Applies the commands as one transaction; nothing changes when it fails. */
  apply(commands: readonly NftCommand[], object: string): Promise<void>;
  /** `nft -j list ARGS`: the "nftables" array, or null when the object does not exist. */
  list(args: readonly string[]): Promise<Array<Record<string, unknown>> | null>;
}

/** `binary`: the nft program (default: `nft` from PATH). */
export function nftRunner(netns: string | null, binary = 'nft'): NftRunner {
  const inv = commandIn(netns, binary, []);
  return {
    async apply(commands, object) {
      if (commands.length === 0) return;
      const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-nft-'));
      const file = path.join(dir, 'transaction.json');
      let r;
      try {
        await writeFile(file, JSON.stringify({ nftables: commands }), { mode: 0o600 });
        r = await execa(inv.file, [...inv.args, '-j', '-f', file], { env, reject: false });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      if (r.exitCode === undefined) throw new DataplaneError('nft transaction', object, r.code ?? 'EIO', r.message ?? 'could not run nft');
      if (r.exitCode !== 0) {
        const reason = nftReason(r.stderr);
        throw new DataplaneError('nft transaction', object, errnoIn(reason), reason);
      }
    },
    async list(args) {
      const r = await execa(inv.file, [...inv.args, '-j', 'list', ...args], { env, reject: false });
      if (r.exitCode === undefined) throw new DataplaneError('nft list', args.join(' '), r.code ?? 'EIO', r.message ?? 'could not run nft');
      if (r.exitCode !== 0) {
        if (/No such file or directory/.test(r.stderr)) return null;
        throw new DataplaneError('nft list', args.join(' '), errnoIn(r.stderr), nftReason(r.stderr));
      }
      const parsed = JSON.parse(r.stdout) as { nftables?: Array<Record<string, unknown>> };
      return parsed.nftables ?? [];
    },
  };
}
