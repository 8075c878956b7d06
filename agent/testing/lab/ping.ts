// Reachability witnesses: ping from inside a workload's namespace, and the matrix of every
// workload pinging every other on the same network.
import { execa } from 'execa';

export interface PingOptions {
  /** Echo requests (default 1). */
  count?: number;
  /** Seconds between them (ping -i; below 0.2 needs root, which the lab has). Default 0.2. */
  interval?: number;
  /** Seconds to wait for each answer (ping -W). Default 1. */
  timeout?: number;
  /** Tries until one gets an answer (the first frames may flood while MACs are learnt). Default 1. */
  attempts?: number;
}

export interface PingResult {
  ok: boolean;
  sent: number;
  received: number;
  /** Average round trip in ms, when anything came back. */
  rttMs?: number;
  /** ping's output of the last try. */
  output: string;
}

/** ping from namespace `ns` to `to`: ok when at least one answer came back. */
export async function pingFrom(ns: string, to: string, opts: PingOptions = {}): Promise<PingResult> {
  const count = opts.count ?? 1;
  const interval = opts.interval ?? 0.2;
  const timeout = opts.timeout ?? 1;
  let last: PingResult = { ok: false, sent: 0, received: 0, output: '' };
  for (let i = 0; i < (opts.attempts ?? 1); i++) {
    const r = await execa('ip', ['netns', 'exec', ns, 'ping', '-n', '-q', '-c', String(count), '-i', String(interval), '-W', String(timeout), to],
      { reject: false, timeout: (count * interval + timeout + 5) * 1000 });
    const output = `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`.trim();
    const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(output);
    last = {
      ok: stats !== null && Number(stats[2]) > 0, sent: Number(stats?.[1] ?? 0), received: Number(stats?.[2] ?? 0),
      ...(rtt ? { rttMs: Number(rtt[1]) } : {}), output,
    };
    if (last.ok) return last;
  }
  return last;
}

export interface MatrixCell {
  from: string;
  to: string;
  toIp: string;
  result: PingResult;
}

/** A table: one row per source workload, one column per destination; "ok", "--" (itself) or "FAIL". */
export function formatMatrix(names: string[], cells: MatrixCell[]): string {
  const width = Math.max(10, ...names.map((n) => n.length));
  const pad = (s: string): string => s.padEnd(width);
  const rows = [`${pad('from \\ to')}  ${names.map(pad).join('  ')}`];
  for (const from of names) {
    const line = names.map((to) => {
      if (to === from) return pad('--');
      const c = cells.find((x) => x.from === from && x.to === to);
      if (!c) return pad('');
      return pad(c.result.ok ? `ok${c.result.rttMs !== undefined ? ` ${c.result.rttMs.toFixed(1)}ms` : ''}` : 'FAIL');
    });
    rows.push(`${pad(from)}  ${line.join('  ')}`);
  }
  return rows.join('\n');
}
