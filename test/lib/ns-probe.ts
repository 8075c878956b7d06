// Witnesses read straight from the kernel of a test namespace (ip -j, sysctl, ping), outside the
// agent: the routed e2e files asked the same questions with the same commands.
import { execa, type ResultPromise } from 'execa';

/** `ip netns exec NETNS CMD ARGS`, never throwing (the exit code is the answer). */
export const inNs = (netns: string, cmd: string, args: string[]) => execa('ip', ['netns', 'exec', netns, cmd, ...args], { reject: false });

/** One ping (ping -6 for an IPv6 address) with a 1 s wait: answered or not. */
export async function pings(from: string, ip: string): Promise<boolean> {
  return (await inNs(from, 'ping', [...(ip.includes(':') ? ['-6'] : []), '-c', '1', '-W', '1', ip])).exitCode === 0;
}

export async function sysctl(netns: string, key: string): Promise<string> {
  return (await inNs(netns, 'sysctl', ['-n', key])).stdout.trim();
}

export async function linkMac(netns: string, dev: string): Promise<string> {
  return (JSON.parse((await execa('ip', ['-n', netns, '-j', 'link', 'show', dev])).stdout) as Array<{ address: string }>)[0]!.address;
}

export async function ifindex(netns: string, dev: string): Promise<number> {
  return (JSON.parse((await execa('ip', ['-n', netns, '-j', 'link', 'show', dev])).stdout) as Array<{ ifindex: number }>)[0]!.ifindex;
}

/** A route as `ip -j -N route` prints it (-N: protocol and scope as numbers, in strings). */
export interface JRoute { dst: string; dev: string; protocol: string | number; scope?: string | number; gateway?: string }

/** hostnet's host routes (protocol 104) in `netns`, "dst dev", sorted: IPv4, or IPv6 with family 6. */
export async function hostRoutes(netns: string, family: 4 | 6 = 4): Promise<string[]> {
  const r = await execa('ip', ['-n', netns, '-j', '-N', ...(family === 6 ? ['-6'] : []), 'route', 'show', 'proto', '104']);
  return (JSON.parse(r.stdout || '[]') as JRoute[]).map((x) => `${x.dst} ${x.dev}`).sort();
}

/**
 * A ping loop (ping -6 for an IPv6 address), 10 a second, pushed on `track` so the file's
 * afterAll can kill it; stop() ends it (SIGINT) and counts what was sent and received.
 */
export function pingLoop(from: string, ip: string, track: ResultPromise[]): { stop(): Promise<{ sent: number; received: number }> } {
  const p = execa('ip', ['netns', 'exec', from, 'ping', ...(ip.includes(':') ? ['-6'] : []), '-i', '0.1', '-W', '1', ip], { reject: false });
  track.push(p);
  return {
    async stop() {
      p.kill('SIGINT');
      const r = await p;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
      return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
    },
  };
}
