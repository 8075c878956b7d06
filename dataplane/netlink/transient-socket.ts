// A netlink socket in another namespace (a workload's, where a veth peer lives) that exists only
// while a request is in flight. A socket holds a reference on its namespace: one kept open would
// keep a deleted pod's namespace (and the devices in it) alive, nameless, for as long as the
// agent runs. Opening one costs a few syscalls (setns, socket, bind, setns back).
import type { NlRequest } from '../nl/message.js';
import { NetlinkSocket, type Decoder, type RequestContext } from './socket.js';

/** What the veth code asks of a peer namespace's socket. */
export type PeerChannel = Pick<NetlinkSocket, 'ack' | 'get'>;

export class TransientSocket implements PeerChannel {
  private socket: NetlinkSocket | null = null;
  /** Requests in flight: concurrent ones share one socket; the last to finish closes it. */
  private inFlight = 0;

  constructor(readonly netns: string) {}

  ack(req: NlRequest, ctx: RequestContext): Promise<void> {
    return this.run((s) => s.ack(req, ctx));
  }

  get<T>(req: NlRequest, ctx: RequestContext, decode: Decoder<T>): Promise<T> {
    return this.run((s) => s.get(req, ctx, decode));
  }

  /** Sockets opened so far (for tests and benchmarks). */
  static opened = 0;

  private async run<T>(fn: (s: NetlinkSocket) => Promise<T>): Promise<T> {
    if (!this.socket) {
      this.socket = NetlinkSocket.open({ netns: this.netns });
      TransientSocket.opened++;
    }
    const s = this.socket;
    this.inFlight++;
    try {
      return await fn(s);
    } finally {
      if (--this.inFlight === 0) {
        s.close();
        this.socket = null;
      }
    }
  }
}
