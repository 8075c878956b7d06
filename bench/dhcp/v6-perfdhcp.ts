// perfdhcp -6 from a client namespace, and its report parsed. Without -A perfdhcp sends as a
// client, not a relay: Solicit and Request go from the interface's link-local address to
// ff02::1:2 and replies come back to port 546. That is the only way hostnet's server can be
// measured: it refuses relay messages (counted as relay-not-supported). With timestamps on
// (-x t) every exchange's delay is read, so percentiles can be computed.
import { perfdhcpSection, runPerfdhcpReport, type PerfExchange, type PerfOptions } from '../../dhcp/testing/perfdhcp.js';

/** One exchange's figures, as for perfdhcp -4 without its average delay. */
export type Perf6Exchange = Omit<PerfExchange, 'avgDelayMs'>;

export interface Perf6Result {
  solicitAdvertise: Perf6Exchange;
  requestReply: Perf6Exchange;
  /** Share of 4-way exchanges that did not complete: 1 - Replies / Solicits. */
  dropRatio: number;
  raw: string;
}

/** As for perfdhcp -4 (dhcp/testing/perfdhcp.ts). */
export type Perf6Options = PerfOptions;

function section(raw: string, name: string): Perf6Exchange {
  const { sent, received, drops, delaysMs } = perfdhcpSection(raw, name);
  return { sent, received, drops, delaysMs };
}

export function parsePerfdhcp6(raw: string): Omit<Perf6Result, 'raw'> {
  const solicitAdvertise = section(raw, 'SOLICIT-ADVERTISE');
  const requestReply = section(raw, 'REQUEST-REPLY');
  const dropRatio = solicitAdvertise.sent > 0 ? Math.max(0, 1 - requestReply.received / solicitAdvertise.sent) : 1;
  return { solicitAdvertise, requestReply, dropRatio };
}

export async function runPerfdhcp6(o: Perf6Options): Promise<Perf6Result> {
  const raw = await runPerfdhcpReport(6, o);
  return { ...parsePerfdhcp6(raw), raw };
}
