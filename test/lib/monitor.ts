// Records the kernel's rtnetlink events in a namespace while an action runs, to prove that an
// idempotent call changed nothing. Markers (lo's MTU set to odd values; ip monitor does not
// print aliases) bracket the action so events from before or after it are not counted.
import { execa } from 'execa';
import { ip } from '../../dataplane/testing/ip.js';

async function waitFor(out: () => string, text: string, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (out().includes(text)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`ip monitor never showed ${what}`);
}

/** Event lines (ip -o monitor) emitted while `action` ran. */
export async function kernelEventsDuring(netns: string, action: () => Promise<unknown>): Promise<string[]> {
  const monitor = execa('ip', ['-n', netns, '-o', 'monitor', 'link', 'address', 'route', 'neigh'], { reject: false });
  let text = '';
  monitor.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  try {
    // The monitor subscribes some time after it starts: repeat the start marker until seen.
    let seen = false;
    for (let i = 0; i < 50 && !seen; i++) {
      await ip(netns, 'link', 'set', 'lo', 'mtu', String(65000 + i));
      await new Promise((r) => setTimeout(r, 50));
      seen = /lo: .* mtu 650\d\d /.test(text);
    }
    if (!seen) throw new Error('ip monitor never showed the start marker');
    // Settle: the kernel reports some changes late: linkwatch delays carrier/operstate events
    // of a new link by up to one second (HZ), and IGMP/MLD entries follow them. Wait for
    // 1.1 s without events before the action, or they would be blamed on it.
    for (let i = 0, last = text.length, quietSince = Date.now(); i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (text.length !== last) {
        last = text.length;
        quietSince = Date.now();
      } else if (Date.now() - quietSince >= 1100) break;
    }
    const from = text.length;
    await action();
    const end = 'mtu 65432 ';
    await ip(netns, 'link', 'set', 'lo', 'mtu', '65432');
    await waitFor(() => text.slice(from), end, 'the end marker');
    const lines = text.slice(from).split('\n');
    return lines.slice(0, lines.findIndex((l) => l.includes(end))).filter((l) => l.trim() !== '' && !/^\d+: lo: /.test(l));
  } finally {
    await ip(netns, 'link', 'set', 'lo', 'mtu', '65536').catch(() => undefined);
    monitor.kill();
    await monitor;
  }
}
