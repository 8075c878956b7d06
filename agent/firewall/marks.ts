// The packet mark bits the firewall borrows to tell its inet chains which protected port a
// bridged packet came from and goes to: the bridge family knows the ports but has no
// connection tracking on every kernel; the inet family (through br_netfilter) has conntrack
// but sees only the bridge. Packets from workloads arrive with mark 0 (veth scrubs it across
// namespaces; a TAP starts it at 0), so the source id is written whole.
/** The protected port a packet came in on: ids 1..4095. */
export const SRC_MASK = 0x0000_0fff;
/** Set by the inet prerouting hook for packets on our bridges: br_netfilter ran. */
export const SEEN = 0x0000_1000;
/** The protected port a bridged packet goes out on, shifted by DST_SHIFT. */
export const DST_MASK = 0x0fff_0000;
export const DST_SHIFT = 16;
/** Port ids fit the 12-bit fields. */
export const MAX_PORT_ID = 0x0fff;
