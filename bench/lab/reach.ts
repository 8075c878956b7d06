// Reachability witnesses for bench/lab: one continuous ping per prober (a workload on another
// host) at a short interval, started before the Apply, each reporting the kernel time of its
// first answer (ping -D). Polling with one-shot pings would add a process start (tens of ms)
// to every try; a running ping sees the first answer within its interval.
import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';

/** Seconds between echo requests: the resolution of the measurement. */
export const PING_INTERVAL_S = 0.005;
/**
 * ARP retransmission in the probers' namespaces (ms; the kernel's default is 1000). The new
 * workload does not answer before its interface exists; with the default, a probe lost then is
 * retried only a second later, and the figure would measure ARP's timer, not the network.
 */
export const PROBER_ARP_RETRANS_MS = 10;

export async function tuneProber(ns: string): Promise<void> {
  const r = await execa('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv4.neigh.eth0.retrans_time_ms=${PROBER_ARP_RETRANS_MS}`], { reject: false });
  if (r.exitCode !== 0) throw new Error(`bench/lab: ARP retransmission time in prober ${ns}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
}

interface Pinger {
  ns: string;
  child: ChildProcess;
  /** Epoch ms of the first answer (ping -D's kernel timestamp). */
  first: Promise<number>;
  /** Resolves when ping has printed its header (it runs and is about to send). */
  started: Promise<void>;
}

function startPinger(ns: string, to: string): Pinger {
  // `ip netns exec` execs ping in place: the child's pid is ping's own, stopped by that pid.
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-D', '-i', String(PING_INTERVAL_S), to], { stdio: ['ignore', 'pipe', 'pipe'] });
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((r) => {
    markStarted = r;
  });
  const first = new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      markStarted();
      buf += chunk;
      const m = /^\[(\d+\.\d+)\] \d+ bytes from /m.exec(buf);
      if (m) resolve(Number(m[1]) * 1000);
      if (buf.length > 1 << 16) buf = buf.slice(-4096);
    });
    child.once('exit', (code, signal) => {
      markStarted();
      reject(new Error(`ping ${to} in ${ns} ended (${signal ?? `exit ${code}`}) before an answer`));
    });
    child.once('error', reject);
  });
  first.catch(() => undefined);
  return { ns, child, first, started };
}

async function stop(p: Pinger): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  await gone;
}

/** Continuous pings from every prober namespace to `to`, until each has had an answer. */
export class ReachWatch {
  private readonly pingers: Pinger[];

  constructor(probers: string[], readonly to: string) {
    this.pingers = probers.map((ns) => startPinger(ns, to));
  }

  /**
   * Every ping is running (so that starting them is not timed with the Apply): it has printed
   * something (its header is flushed with its first line: an answer or an ARP failure, tens of
   * ms), or `maxMs` have passed.
   */
  async started(maxMs = 300): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.pingers.map((p) => p.started)), new Promise((r) => {
      timer = setTimeout(r, maxMs);
    })]);
    clearTimeout(timer);
  }

  /**
   * Epoch ms at which the last prober got its first answer (reachable from all), and each
   * prober's. Throws after `timeoutMs` naming the probers that had none.
   */
  async reachedAll(timeoutMs: number): Promise<{ all: number; each: number[] }> {
    const answered = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`bench/lab: ${this.to} not reachable within ${timeoutMs} ms from ${this.pingers.filter((p) => !answered.has(p.ns)).map((p) => p.ns).join(', ')}`)), timeoutMs);
    });
    try {
      const each = await Promise.race([Promise.all(this.pingers.map(async (p) => {
        const t = await p.first;
        answered.add(p.ns);
        return t;
      })), timeout]);
      return { all: Math.max(...each), each };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.pingers.map(stop));
  }
}

/** The MAC of interface `dev` in namespace `ns`. */
export async function macOf(ns: string, dev: string): Promise<string> {
  const r = await execa('ip', ['-n', ns, '-j', 'link', 'show', dev], { reject: false });
  if (r.exitCode !== 0) throw new Error(`bench/lab: MAC of ${dev} in ${ns}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return (JSON.parse(r.stdout) as { address: string }[])[0]!.address;
}

/**
 * `bridge monitor fdb` in each host namespace, started before the Apply (the new MAC is not
 * known until its veth exists): every line is kept with its arrival time, so that the first
 * remote entry (one with a dst: a VTEP) of the MAC can be looked up afterwards. Events, not
 * polling: a poll loop per host would compete for the CPUs with the pings being timed.
 */
export class FdbWatch {
  private readonly monitors: { ns: string; child: ChildProcess; lines: { at: number; text: string }[] }[];

  constructor(hostNss: string[]) {
    this.monitors = hostNss.map((ns) => {
      const child = spawn('bridge', ['-n', ns, 'monitor', 'fdb'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const m = { ns, child, lines: [] as { at: number; text: string }[] };
      let buf = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        const at = Date.now();
        buf += chunk;
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const text of parts) m.lines.push({ at, text });
      });
      return m;
    });
  }

  /** Epoch ms by which every host had a remote entry for `mac`; throws after `timeoutMs`. */
  async everywhere(mac: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const first = (m: FdbWatch['monitors'][number]): number | undefined =>
      m.lines.find((l) => l.text.startsWith(`${mac} `) && / dst /.test(l.text) && !l.text.startsWith('Deleted'))?.at;
    for (;;) {
      const each = this.monitors.map(first);
      if (each.every((t) => t !== undefined)) return Math.max(...(each as number[]));
      if (Date.now() > deadline) {
        throw new Error(`bench/lab: no remote FDB entry for ${mac} within ${timeoutMs} ms in ${this.monitors.filter((m) => first(m) === undefined).map((m) => m.ns).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.monitors.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await gone;
    }));
  }
}
