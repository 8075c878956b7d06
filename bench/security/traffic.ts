// Real traffic for bench/security: a UDP prober (one datagram per port every millisecond, with a
// sequence number and its send time on CLOCK_MONOTONIC) and a receiver that reports every
// arrival, so "enforced" is what packets did, not what the agent says; and iperf3 for TCP
// throughput. Neither side ever replies: an unreplied UDP flow stays NEW in conntrack, so every
// datagram is judged by the rules again and a removed rule shows as datagrams that stop.
import { execa, type ResultPromise } from 'execa';

// /usr/bin/python3: the system interpreter (the one on PATH may be another).
const PYTHON = '/usr/bin/python3';

const SENDER = `
import socket, struct, sys, time
dst = sys.argv[1]
ports = [int(p) for p in sys.argv[2].split(',')]
interval = int(sys.argv[3]) * 1000
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
seq = 0
nxt = time.monotonic_ns()
while True:
    seq += 1
    now = time.monotonic_ns()
    for p in ports:
        try:
            s.sendto(struct.pack('!QQ', seq, now), (dst, p))
        except OSError:
            pass  # no neighbour yet, or a full queue: the receiver simply sees nothing
    nxt += interval
    delay = nxt - time.monotonic_ns()
    if delay > 0:
        time.sleep(delay / 1e9)
    else:
        nxt = time.monotonic_ns()
`;

const RECEIVER = `
import select, socket, struct, sys, time
socks = []
for p in sys.argv[1].split(','):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', int(p)))
    socks.append((int(p), s))
print('ready', flush=True)
out = sys.stdout
while True:
    r, _, _ = select.select([s for _, s in socks], [], [])
    now = time.monotonic_ns()
    for p, s in socks:
        if s in r:
            data = s.recv(64)
            seq, sent = struct.unpack('!QQ', data[:16])
            out.write('%d %d %d %d\\n' % (p, seq, sent, now))
    out.flush()
`;

export interface Arrival {
  port: number;
  seq: number;
  /** CLOCK_MONOTONIC, ms. */
  sentMs: number;
  recvMs: number;
}

/** A receiver in one namespace and a sender in another, both running until stop(). */
export class Prober {
  private readonly arrivals: Arrival[] = [];
  private partial = '';

  private constructor(private readonly receiver: ResultPromise, private readonly sender: ResultPromise) {}

  static async start(opts: { senderNetns: string; receiverNetns: string; dst: string; ports: number[]; intervalUs?: number }): Promise<Prober> {
    const ports = opts.ports.join(',');
    const receiver = execa('ip', ['netns', 'exec', opts.receiverNetns, PYTHON, '-u', '-c', RECEIVER, ports], { reject: false, buffer: false });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe receiver in ${opts.receiverNetns}: not ready in 10 s`)), 10_000);
      receiver.stdout?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      void receiver.then((r) => reject(new Error(`probe receiver in ${opts.receiverNetns} exited: ${String(r.stderr ?? r.message)}`)));
    });
    await ready;
    const sender = execa('ip', ['netns', 'exec', opts.senderNetns, PYTHON, '-u', '-c', SENDER, opts.dst, ports, String(opts.intervalUs ?? 1000)], { reject: false, buffer: false });
    const p = new Prober(receiver, sender);
    receiver.stdout?.on('data', (chunk: Buffer) => p.take(chunk.toString()));
    return p;
  }

  private take(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const [port, seq, sent, recv] = line.split(' ').map(Number);
      if (port === undefined || seq === undefined || sent === undefined || recv === undefined || Number.isNaN(recv)) continue;
      this.arrivals.push({ port, seq, sentMs: sent / 1e6, recvMs: recv / 1e6 });
    }
  }

  /** Arrivals on `port` received after `fromMs` (monotonic ms). */
  since(port: number, fromMs: number): Arrival[] {
    const out: Arrival[] = [];
    for (let i = this.arrivals.length - 1; i >= 0; i--) {
      const a = this.arrivals[i]!;
      if (a.recvMs < fromMs) break;
      if (a.port === port) out.push(a);
    }
    return out.reverse();
  }

  async stop(): Promise<void> {
    for (const p of [this.sender, this.receiver]) p.kill('SIGKILL');
    await Promise.allSettled([this.sender, this.receiver]);
  }
}

/** TCP throughput from `clientNetns` to an iperf3 server started in `serverNetns`; Gbit/s. */
export async function iperf(opts: { clientNetns: string; serverNetns: string; serverIp: string; port: number; seconds: number }): Promise<number> {
  const server = execa('ip', ['netns', 'exec', opts.serverNetns, 'iperf3', '-s', '-1', '-p', String(opts.port)], { reject: false });
  try {
    // The server listens within a few ms; retry the client while it is not there yet.
    for (let attempt = 1; ; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await execa('ip', ['netns', 'exec', opts.clientNetns, 'iperf3', '-c', opts.serverIp, '-p', String(opts.port), '-t', String(opts.seconds), '-J', '--connect-timeout', '2000'], { reject: false, timeout: (opts.seconds + 30) * 1000 });
      const parsed = JSON.parse(r.stdout || '{}') as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
      const bps = parsed.end?.sum_received?.bits_per_second;
      if (r.exitCode === 0 && typeof bps === 'number') return bps / 1e9;
      if (attempt >= 10) throw new Error(`iperf3 from ${opts.clientNetns} to ${opts.serverIp}:${opts.port}: ${parsed.error ?? r.stderr ?? 'failed'}`);
    }
  } finally {
    server.kill('SIGKILL');
    await server;
  }
}
