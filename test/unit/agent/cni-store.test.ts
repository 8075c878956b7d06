// CNI attachments on disk (agent/cni/store.ts): staged changes are judged against at once,
// written together (group commit), and what the reconciler sees is only what is on disk.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Attachment } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { CniAttachmentStore } from '../../../agent/cni/store.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function store(): Promise<CniAttachmentStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-cni-store-'));
  dirs.push(dir);
  return new CniAttachmentStore(dir);
}

const att = (name: string): Attachment => Attachment.fromPartial({
  name, network: 'web', kind: { $case: 'veth', veth: { ifName: name.replace('-', ''), peerNetns: '/run/netns/x', peerIfName: 'eth0' } },
  cni: { containerId: name, cniNetwork: 'web' },
});

describe('CniAttachmentStore', () => {
  it('stages at once, shows the reconciler only what is on disk, and survives a reload', async () => {
    const s = await store();
    const seq = s.stage([att('cni-a')]);
    expect(s.pending().map((a) => a.name)).toEqual(['cni-a']);
    expect(s.list()).toEqual([]);
    await s.commit(seq);
    expect(s.list().map((a) => a.name)).toEqual(['cni-a']);
    const again = new CniAttachmentStore(s.dir);
    expect(await again.load()).toBeNull();
    expect(again.list()).toEqual(s.list());
  });

  it('writes parallel changes together, every one of them durable when its commit resolves', async () => {
    const s = await store();
    const names = Array.from({ length: 50 }, (_, i) => `cni-${i}`);
    const before = s.version;
    await Promise.all(names.map((n) => s.commit(s.stage([att(n)]))));
    expect(s.version - before).toBeLessThan(5); // a few writes, not 50
    const onDisk = JSON.parse(await readFile(s.file, 'utf8')) as { attachments: Array<{ name: string }> };
    expect(onDisk.attachments.map((a) => a.name).sort()).toEqual([...names].sort());
    await Promise.all(names.slice(0, 25).map((n) => s.commit(s.stage([], new Set([n])))));
    expect(s.list().map((a) => a.name).sort()).toEqual(names.slice(25).sort());
  });

  it('keeps an unreadable file aside and starts empty', async () => {
    const s = await store();
    await s.commit(s.stage([att('cni-a')]));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(s.file, '{ not json');
    const again = new CniAttachmentStore(s.dir);
    expect(await again.load()).toMatch(/unreadable .*kept as .*corrupt-/);
    expect(again.list()).toEqual([]);
  });
});
