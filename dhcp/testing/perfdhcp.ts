// perfdhcp (Kea's load generator) from a client namespace, and its report parsed. perfdhcp
// acts as a relay: the interface needs an address (giaddr) and replies come back to port 67.
// With timestamps on (-x t) every exchange's delay is read, so percentiles can be computed.
import { execa } from 'execa';

export interface PerfExchange {
  sent: number;
  received: number;
  drops: number;
  /** Per-exchange delays in ms (only with timestamps), sorted. */
  delaysMs: number[];
  avgDelayMs: number | null;
}

export interface PerfResult {
  /** perfdhcp's own figure: its time base includes the exit wait (-W), so it reads low. */
  rate: number;
  expectedRate: number;
  discoverOffer: PerfExchange;
  requestAck: PerfExchange;
  /** Share of 4-way exchanges that did not complete: 1 - ACKs / DISCOVERs. */
  dropRatio: number;
  raw: string;
}

export interface PerfOptions {
  netns: string;
  ifname: string;
  rate: number;
  clients: number;
  seconds: number;
  timestamps?: boolean;
  /** Extra perfdhcp arguments. */
  extra?: string[];
}

/** One exchange's statistics (and, with -x t, its delays) from perfdhcp's report, -4 or -6. */
export function perfdhcpSection(raw: string, name: string): PerfExchange {
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
      if (d >= 0) delaysMs.push(d); // an unanswered request has no receive time
    }
    delaysMs.sort((a, b) => a - b);
  }
  const avg = /avg delay: ([0-9.]+) ms/.exec(s);
  return { sent: num('sent packets'), received: num('received packets'), drops: num('drops'), delaysMs, avgDelayMs: avg ? Number(avg[1]) : null };
}

export function parsePerfdhcp(raw: string): Omit<PerfResult, 'raw'> {
  const rate = /Rate: ([0-9.]+) 4-way exchanges\/second, expected rate: ([0-9.]+)/.exec(raw);
  const discoverOffer = perfdhcpSection(raw, 'DISCOVER-OFFER');
  const requestAck = perfdhcpSection(raw, 'REQUEST-ACK');
  const dropRatio = discoverOffer.sent > 0 ? Math.max(0, 1 - requestAck.received / discoverOffer.sent) : 1;
  return { rate: rate ? Number(rate[1]) : 0, expectedRate: rate ? Number(rate[2]) : 0, discoverOffer, requestAck, dropRatio };
}

/** Runs perfdhcp -4 or -6 in the client namespace; its whole report, or an error naming where it failed. */
export async function runPerfdhcpReport(family: 4 | 6, o: PerfOptions): Promise<string> {
  const args = ['netns', 'exec', o.netns, 'perfdhcp', `-${family}`, '-l', o.ifname, '-r', String(o.rate), '-R', String(o.clients), '-p', String(o.seconds)];
  // Wait half a second after the last request so late replies count as received, not dropped.
  args.push('-W', '500000');
  if (o.timestamps) args.push('-x', 't');
  args.push(...(o.extra ?? []));
  const r = await execa('ip', args, { reject: false, timeout: (o.seconds + 30) * 1000, all: true });
  const raw = r.all ?? '';
  if (!raw.includes('***Rate statistics***')) throw new Error(`perfdhcp -${family} in ${o.netns} on ${o.ifname} failed (exit ${r.exitCode}): ${raw.slice(-1500)}`);
  return raw;
}

export async function runPerfdhcp(o: PerfOptions): Promise<PerfResult> {
  const raw = await runPerfdhcpReport(4, o);
  return { ...parsePerfdhcp(raw), raw };
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}
