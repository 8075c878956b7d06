// Network namespaces are named (`ip netns add NAME` -> /var/run/netns/NAME) or given by path
// (e.g. /proc/PID/ns/net); both backends accept either.
export const NETNS_RUN_DIR = '/var/run/netns';

export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `${NETNS_RUN_DIR}/${netns}`;
}
