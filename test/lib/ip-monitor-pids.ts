// The `ip ... monitor` processes working in a namespace (the iproute2 backend's watch), read
// from /proc without touching them: tests check that none is left behind.
import { readdir, readFile } from 'node:fs/promises';

export async function ipMonitorPids(netns: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv: string[] = await readFile(`/proc/${entry}/cmdline`, 'utf8').then((t) => t.split('\0'), () => []);
    if (argv.includes('monitor') && argv.includes(netns) && argv[0]?.endsWith('ip')) pids.push(Number(entry));
  }
  return pids;
}
