// perfdhcp -6 from a client namespace, and its report parsed. Without -A perfdhcp sends as a
// client, not a relay: Solicit and Request go from the interface's link-local address to
// ff02::1:2 and replies come back to port 546. That is the only way hostnet's server can be
// measured: it refuses relay messages (counted as relay-not-supported). With timestamps on
// (-x t) every exchange's delay is read, so percentiles can be computed.
import { execa } from 'execa';

export interface Perf6Exchange {
  sent: number;
  received: number;
  drops: number;
  /** Per-exchange delays in ms (only with timestamps), sorted. */
  delaysMs: number[];
}

export interface Perf6Result {
  solicitAdvertise: Perf6Exchange;
  requestReply: Perf6Exchange;
  /** Share of 4-way exchanges that did not complete: 1 - Replies / Solicits. */
  dropRatio: number;
  raw: string;
}

export interface Perf6Options {
  netns: string;
  ifname: string;
  rate: number;
  clients: number;
  seconds: number;
  timestamps?: boolean;
}

function section(raw: string, name: string): Perf6Exchange {
  const i = raw.indexOf(`***Statistics for: ${name}***`);
  const next = i < 0 ? -1 : raw.indexOf('\n***', i + 5);
  const s = i < 0 ? '' : raw.slice(i, next < 0 ? undefined : next);
  const num = (label: string): number => {
    const m = new RegExp(`${label}: ([0-9.]+)`).exec(s);
    return m ? Number(m[1]) : 0;
  };
  const t = raw.indexOf(`***Timestamps for packets: ${name}***`);
  const delaysMs: number[] = [];
  if (t >= 0) {
    const body = raw.indexOf('\n', t);
    const end = raw.indexOf('\n***', body);
    for (const m of raw.slice(body, end < 0 ? undefined : end).matchAll(/([0-9]+\.[0-9]+) \/ ([0-9]+\.[0-9]+)/g)) {
      const d = (Number(m[2]) - Number(m[1])) * 1000;
      if (d >= 0) delaysMs.push(d); // an unanswered message has no receive time
    }
    delaysMs.sort((a, b) => a - b);
  }
  return { sent: num('sent packets'), received: num('received packets'), drops: num('drops'), delaysMs };
}

export function parsePerfdhcp6(raw: string): Omit<Perf6Result, 'raw'> {
  const solicitAdvertise = section(raw, 'SOLICIT-ADVERTISE');
  const requestReply = section(raw, 'REQUEST-REPLY');
  const dropRatio = solicitAdvertise.sent > 0 ? Math.max(0, 1 - requestReply.received / solicitAdvertise.sent) : 1;
  return { solicitAdvertise, requestReply, dropRatio };
}

export async function runPerfdhcp6(o: Perf6Options): Promise<Perf6Result> {
  const args = ['netns', 'exec', o.netns, 'perfdhcp', '-6', '-l', o.ifname, '-r', String(o.rate), '-R', String(o.clients), '-p', String(o.seconds)];
  // Wait half a second after the last message so late replies count as received, not dropped.
  args.push('-W', '500000');
  if (o.timestamps) args.push('-x', 't');
  const r = await execa('ip', args, { reject: false, timeout: (o.seconds + 30) * 1000, all: true });
  const raw = r.all ?? '';
  if (!raw.includes('***Rate statistics***')) throw new Error(`perfdhcp -6 in ${o.netns} on ${o.ifname} failed (exit ${r.exitCode}): ${raw.slice(-1500)}`);
  return { ...parsePerfdhcp6(raw), raw };
}
