// The named counters of the firewall's tables: seeds for a full reload (so a restart or a
// refresh does not zero what was counted) and per-attachment drop figures for status.
import type { NftRunner } from '../../dataplane/nftables/run.js';
import { names, TABLE } from './names.js';

export interface CounterValue {
  packets: number;
  bytes: number;
}

/**
 * Every named counter of our tables, by name (the names do not overlap between them, names.ts):
 * one listing of all counters, nft's cost being mostly per process, not per table.
 */
export async function readCounterSeeds(nft: NftRunner): Promise<Map<string, CounterValue>> {
  const out = new Map<string, CounterValue>();
  for (const item of (await nft.list(['counters'])) ?? []) {
    const c = item['counter'] as { name?: string; table?: string; family?: string; packets?: number; bytes?: number } | undefined;
    if (c?.name === undefined || c.table !== TABLE || (c.family !== 'bridge' && c.family !== 'inet' && c.family !== 'arp')) continue;
    out.set(c.name, { packets: c.packets ?? 0, bytes: c.bytes ?? 0 });
  }
  return out;
}

export interface PortDrops {
  spoof: number;
  ingress: number;
  egress: number;
}

export function portDrops(counters: ReadonlyMap<string, CounterValue>, attachment: string): PortDrops {
  return {
    // A routed port's ARP drops are counted in the arp table, its other drops in the inet table.
    spoof: (counters.get(names.spoof(attachment))?.packets ?? 0) + (counters.get(names.arpSpoof(attachment))?.packets ?? 0),
    ingress: counters.get(names.policyIn(attachment))?.packets ?? 0,
    egress: counters.get(names.policyOut(attachment))?.packets ?? 0,
  };
}
