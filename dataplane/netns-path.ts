// Network namespaces are named (`ip netns add NAME` -> /var/run/netns/NAME) or given by path
// (e.g. /proc/PID/ns/net); both backends accept either.
export const NETNS_RUN_DIR = '/var/run/netns';

export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `${NETNS_RUN_DIR}/${netns}`;
}

/** How to run `file args` inside `netns` (null: here): through `nsenter --net=PATH`. */
export function commandIn(netns: string | null, file: string, args: readonly string[]): { file: string; args: string[] } {
  return netns === null ? { file, args: [...args] } : { file: 'nsenter', args: [`--net=${netnsPath(netns)}`, '--', file, ...args] };
}
