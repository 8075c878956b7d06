// The pure rtnetlink codec: no I/O, so every byte can be unit-tested.
export * from './attributes.js';
export * from './message.js';
export * from './link.js';
export * from './addr.js';
export * from './route.js';
export * from './neigh.js';
export * from './fdb.js';
export * from './inet.js';
export * from './nsid.js';
export * as constants from './constants.js';
