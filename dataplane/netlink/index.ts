// The netlink backend: socket, namespaces, TAP, kernel event monitor.
export { openNetlinkDataplane, NetlinkDataplane } from './backend.js';
export { NetlinkSocket } from './socket.js';
export { KernelMonitor, type KernelEvent, type MonitorHandlers } from './monitor.js';
export { inNetns } from './netns.js';
