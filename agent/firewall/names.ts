// The names of everything the firewall creates in its tables: one place, so the ruleset, the
// counters read for status and the tests agree.
export const TABLE = 'hostnet';

export const names = {
  to: (a: string) => `port-to-${a}`,
  nd: (a: string) => `port-nd-${a}`,
  /** The chain of a list of groups (ports with the same groups share it). */
  groupsIn: (key: string) => `groups-${key}-in`,
  groupsOut: (key: string) => `groups-${key}-out`,
  spoof: (a: string) => `spoof-${a}`,
  /**
   * A routed port's ARP drops: counters live in one table, and ARP is checked in the arp
   * family's table. "arp-" starts no other counter name, so counter names stay unique across
   * the tables (the seeds of a reload are keyed by name).
   */
  arpSpoof: (a: string) => `arp-spoof-${a}`,
  policyIn: (a: string) => `policy-in-${a}`,
  policyOut: (a: string) => `policy-out-${a}`,
  groupIn: (g: string) => `sg-${g}-in`,
  groupOut: (g: string) => `sg-${g}-out`,
  groupSet: (g: string, family: 4 | 6) => `sg-${g}-v${family}`,
  noBridgeNetfilter: 'no-bridge-netfilter',
};
