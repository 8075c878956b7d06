// TCP throughput with iperf3: between two namespaces (a server started by pid, one client run
// of N seconds), for lab workloads across hosts over VXLAN and for the reference, two namespaces
// joined by a plain veth pair (no bridge, no encapsulation) on the same machine.
import { spawn } from 'node:child_process';
import { execa } from 'execa';

export interface Throughput {
  /** Receiver's goodput, Gbit/s. */
  gbps: number;
  retransmits: number;
  /** MTU of the sender's interface. */
  mtu: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function mtuOf(ns: string, dev: string): Promise<number> {
  const r = await execa('ip', ['-n', ns, '-j', 'link', 'show', dev]);
  return (JSON.parse(r.stdout) as { mtu: number }[])[0]!.mtu;
}

/** iperf3 from `clientNs` to a server at `serverIp` in `serverNs`, `seconds` long. */
export async function iperf(serverNs: string, serverIp: string, clientNs: string, clientDev: string, seconds: number): Promise<Throughput> {
  const server = spawn('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-B', serverIp], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  try {
    // The server listens a moment after it starts: the client retries a refused connection.
    for (let attempt = 0; ; attempt++) {
      const r = await execa('ip', ['netns', 'exec', clientNs, 'iperf3', '-c', serverIp, '-t', String(seconds), '-J'], { reject: false, timeout: (seconds + 20) * 1000 });
      const out = r.stdout.trim() ? (JSON.parse(r.stdout) as { error?: string; end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } } }) : {};
      if (r.exitCode === 0 && out.end?.sum_received) {
        return { gbps: out.end.sum_received.bits_per_second / 1e9, retransmits: out.end.sum_sent?.retransmits ?? 0, mtu: await mtuOf(clientNs, clientDev) };
      }
      const why = out.error ?? (r.stderr.trim() || `exit ${r.exitCode}`);
      if (attempt >= 20 || !/refused/i.test(why)) throw new Error(`bench/lab: iperf3 ${clientNs} -> ${serverIp} (${serverNs}): ${why}`);
      await pause(100);
    }
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited;
  }
}

/** The reference namespaces' names: hnbench-labref-<pid>-a|b (gone at the end, also on a signal: see main.ts). */
export const vethReferenceNs = (): [string, string] => [`hnbench-labref-${process.pid}-a`, `hnbench-labref-${process.pid}-b`];

export async function deleteVethReference(): Promise<void> {
  for (const ns of vethReferenceNs()) await execa('ip', ['netns', 'del', ns], { reject: false });
}

/** The reference: two fresh namespaces joined by one veth pair (MTU 1500), addresses 10.99.0.1/2. */
export class VethPair {
  private constructor(readonly a: string, readonly b: string) {}

  static async open(): Promise<VethPair> {
    const [a, b] = vethReferenceNs();
    const ip = (args: string[]): Promise<unknown> => execa('ip', args);
    try {
      for (const ns of [a, b]) {
        await ip(['netns', 'add', ns]);
        await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      }
      await ip(['-n', a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
      await ip(['-n', a, 'addr', 'add', '10.99.0.1/24', 'dev', 'eth0']);
      await ip(['-n', b, 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0']);
      await ip(['-n', a, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', b, 'link', 'set', 'eth0', 'up']);
    } catch (err) {
      await deleteVethReference();
      throw new Error(`bench/lab: the veth reference (${a}, ${b}): ${(err as Error).message}`);
    }
    return new VethPair(a, b);
  }

  iperf(seconds: number): Promise<Throughput> {
    return iperf(this.b, '10.99.0.2', this.a, 'eth0', seconds);
  }

  close(): Promise<void> {
    return deleteVethReference();
  }
}
