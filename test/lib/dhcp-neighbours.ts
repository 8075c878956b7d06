// The runner's NeighbourWriter for in-process servers: the netlink dataplane in the server's
// namespace (dhcp/ itself only knows the interface).
import { openNetlinkDataplane } from '../../dataplane/netlink/backend.js';
import type { NeighbourWriter } from '../../dhcp/types.js';

export async function dataplaneNeighbours(netns: string): Promise<NeighbourWriter & { close(): Promise<void> }> {
  const dp = await openNetlinkDataplane(netns);
  return {
    setNeighbour: (dev, ip, mac) => dp.setNeighbour({ dev, ip, mac, state: 'reachable' }),
    close: () => dp.close(),
  };
}
