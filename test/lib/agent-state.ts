// Small builders of desired states for agent tests (the proto's JSON mapping, as admins write).
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';

export interface StateJson {
  generation?: number;
  networks?: Record<string, unknown>[];
  attachments?: Record<string, unknown>[];
}

export function state(json: StateJson): DesiredState {
  return DesiredState.fromJSON(json);
}

/** An isolated IPv4 network with the gateway on its bridge. */
export function network(name: string, third: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name, ipFamily: 'IPV4', cidr: `10.77.${third}.0/24`, gateway: `10.77.${third}.1`, gatewayOnBridge: true, ...extra,
  };
}

export function tap(name: string, net: string, ifName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, network: net, tap: { ifName }, ...extra };
}

export function veth(name: string, net: string, ifName: string, peerNetns: string, peerIfName = 'net1', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, network: net, veth: { ifName, peerNetns, peerIfName }, ...extra };
}

/** Polls `check` every `intervalMs` until it returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(
  what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
