// The record of which forwarding switches hostnet turned on (from 0 to 1), kept in the state
// directory as <state-dir>/forwarding.json so a restarted agent still turns them back off. One
// file for every owner: it says what hostnet turned on, not who wanted it (the wants are worked
// out again each pass). Older agents kept one record per participant (routers-forwarding.json,
// bgp-forwarding.json): on first load they are merged into this one, which is written durably
// before they are removed, so an upgraded agent still turns off what the old one turned on.
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, replaceFileDurably } from '../../dataplane/fs.js';
import { mergeRecords } from './plan.js';

/** The keys of a record file, null when there is none. */
async function readKeys(file: string): Promise<Set<string> | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`read forwarding record ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`read forwarding record ${file}: not JSON: ${(err as Error).message}`);
  }
  const turnedOn = (parsed as { turnedOn?: unknown } | null)?.turnedOn;
  return new Set(Array.isArray(turnedOn) ? turnedOn.filter((k): k is string => typeof k === 'string') : []);
}

export class ForwardingRecord {
  private keys: Set<string> | null = null;

  /** `legacy`: record files of older agents, merged in and removed on the first load. */
  constructor(private readonly file: string, private readonly legacy: readonly string[] = []) {}

  async load(): Promise<Set<string>> {
    if (this.keys) return this.keys;
    const own = await readKeys(this.file);
    const old: Array<{ file: string; keys: Set<string> }> = [];
    for (const file of this.legacy) {
      const keys = await readKeys(file);
      if (keys) old.push({ file, keys });
    }
    if (old.length === 0) {
      this.keys = own ?? new Set();
      return this.keys;
    }
    // Also when our own file exists already (a crash between its write and the removals).
    await this.save(mergeRecords(own ?? [], ...old.map((o) => o.keys)));
    for (const o of old) {
      await rm(o.file, { force: true }).catch((err: Error) => {
        throw new Error(`remove old forwarding record ${o.file} (merged into ${this.file}): ${err.message}`);
      });
    }
    await fsyncDir(path.dirname(this.file));
    return this.keys!;
  }

  async save(keys: Set<string>): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await replaceFileDurably(this.file, `${this.file}.tmp`, `${JSON.stringify({ turnedOn: [...keys].sort() }, null, 2)}\n`);
    this.keys = keys;
  }
}
