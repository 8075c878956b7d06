// Traffic witnesses for the Debian-kernel suite, cheap enough for an emulated (TCG) guest:
// no scapy (importing it takes ~8 s there), only socat, a tiny python listener per
// namespace and nft's own counters. Every process started here is stopped by pid in stop().
import { counterPackets } from '../lib/nft-ruleset.js';
import { execa, type ResultPromise } from 'execa';

const PYTHON = '/usr/bin/python3';

// Serves TCP (reads one line, answers "echo LINE") and UDP (logs each datagram) on the given
// ports; one stdout line per event: "tcp PORT FROM LINE" / "udp PORT FROM DATA", "ready" first.
const LISTENER = String.raw`
import select, socket, sys
tcp = [int(p) for p in sys.argv[1].split(',') if p]
udp = [int(p) for p in sys.argv[2].split(',') if p]
socks = {}
for p in tcp:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', p)); s.listen(16); socks[s] = ('tcp', p)
for p in udp:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', p)); socks[s] = ('udp', p)
print('ready', flush=True)
while True:
    for s in select.select(list(socks), [], [])[0]:
        kind, port = socks[s]
        if kind == 'udp':
            data, addr = s.recvfrom(2048)
            print('udp', port, addr[0], data.decode(errors='replace').strip(), flush=True)
            continue
        c, addr = s.accept()
        c.settimeout(10)
        try:
            line = c.makefile().readline().strip()
            c.sendall(('echo ' + line + '\n').encode())
            print('tcp', port, addr[0], line, flush=True)
        except OSError as e:
            print('tcp', port, addr[0], 'error', e, flush=True)
        finally:
            c.close()
`;

export interface Listener {
  /** Everything it printed so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts the listener in `netns` and waits for its "ready" line. */
export async function startListener(netns: string, tcp: number[], udp: number[]): Promise<Listener> {
  const child: ResultPromise = execa('ip', ['netns', 'exec', netns, PYTHON, '-u', '-c', LISTENER, tcp.join(','), udp.join(',')],
    { reject: false, all: true, buffer: false, stdin: 'ignore' });
  let text = '';
  let exited = false;
  child.all?.on('data', (b: Buffer) => {
    text += b.toString();
  });
  void child.then(() => {
    exited = true;
  });
  const deadline = Date.now() + 60_000;
  while (!/^ready$/m.test(text)) {
    if (exited) throw new Error(`listener in ${netns} (tcp ${tcp.join(',')} udp ${udp.join(',')}) exited: ${text}`);
    if (Date.now() > deadline) throw new Error(`listener in ${netns}: no "ready" after 60 s: ${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    log: () => text,
    stop: async () => {
      child.kill('SIGKILL');
      await child;
    },
  };
}

export type TcpResult = { answer: string } | { timedOut: true } | { error: string };

/**
 * One TCP request from `netns` to ip:port with socat: the answer line, or timedOut when no
 * connection was made within `connectSeconds` (a dropped SYN). The connect timeout is socat's
 * own, counted from the connect call: an outer `timeout` would also count the process start,
 * which alone can take seconds in the emulated guest (and then no SYN was ever sent).
 */
export async function tcpRequest(netns: string, ip: string, port: number, line: string, connectSeconds: number): Promise<TcpResult> {
  const r = await execa('ip', ['netns', 'exec', netns, 'socat', '-t', '20', '-T', '20', '-',
    `TCP:${ip}:${port},connect-timeout=${connectSeconds}`], { reject: false, input: `${line}\n`, timeout: 120_000 });
  if (r.exitCode === 0 && r.stdout.trim() !== '') return { answer: r.stdout.trim() };
  if (/timed out/i.test(r.stderr)) return { timedOut: true };
  return { error: `socat exit ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim() || r.message}` };
}

/** One UDP datagram from `netns`, sent from source address `src` (bound, so it may be any local one). */
export async function udpSend(netns: string, src: string, dst: string, port: number, data: string): Promise<void> {
  await execa('ip', ['netns', 'exec', netns, PYTHON, '-c',
    'import socket, sys\n'
    + 's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
    + 's.bind((sys.argv[1], 0))\n'
    + 's.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))',
    src, dst, String(port), data]);
}

/** Packets of named counter `name` in table FAMILY hostnet inside `netns`; it must exist. */
export async function nftCounter(netns: string, family: 'bridge' | 'inet', name: string): Promise<number> {
  const n = await counterPackets(netns, family, name);
  if (n === null) throw new Error(`nft list counter ${family} hostnet ${name} in ${netns}: no such counter`);
  return n;
}
