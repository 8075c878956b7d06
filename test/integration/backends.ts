// Every Dataplane implementation the conformance suites run against.
import { openIproute2Dataplane } from '../../dataplane/iproute2/backend.js';
import { openNetlinkDataplane } from '../../dataplane/netlink/backend.js';
import type { Dataplane } from '../../dataplane/types.js';

export const backends: { name: string; open(netns: string): Promise<Dataplane> }[] = [
  { name: 'iproute2', open: openIproute2Dataplane },
  { name: 'netlink', open: (netns) => openNetlinkDataplane(netns) },
];
