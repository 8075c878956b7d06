// An independent witness of the Router Advertisements a workload receives: an AF_PACKET socket
// in the workload namespace that sees every IPv6 packet there and picks out RAs, parsed by hand
// (not with the codec under test), read through packet-socket.ts.
import { bytesToIp } from '../../dataplane/ip.js';
import { ETH_P_IPV6_BE, PacketSocket } from './packet-socket.js';

export interface SniffedRa {
  /** Date.now() when it was read. */
  at: number;
  source: string;
  destination: string;
  ipHopLimit: number;
  routerLifetimeSec: number;
  /** MTU option, if any. */
  mtu: number | null;
}

/** Parses an IPv6 packet; the RA it carries (no extension headers: RAs have none), if any. */
export function parseRa(b: Buffer, at: number): SniffedRa | null {
  if (b.length < 56 || b[0]! >> 4 !== 6 || b[6] !== 58 || b[40] !== 134) return null;
  let mtu: number | null = null;
  for (let i = 56; i + 8 <= b.length && b[i + 1]! > 0; i += b[i + 1]! * 8) if (b[i] === 5) mtu = b.readUInt32BE(i + 4);
  return { at, source: bytesToIp(b, 8, 16), destination: bytesToIp(b, 24, 16), ipHopLimit: b[7]!, routerLifetimeSec: b.readUInt16BE(46), mtu };
}

export class RaSniffer {
  readonly seen: SniffedRa[] = [];
  private readonly socket: PacketSocket;

  private constructor(netns: string) {
    this.socket = PacketSocket.open(netns, 'open RA sniffer', ETH_P_IPV6_BE, 4 << 20, (b) => {
      const ra = parseRa(b, Date.now());
      if (ra) this.seen.push(ra);
    });
  }

  static open(netns: string): RaSniffer {
    return new RaSniffer(netns);
  }

  /** Reads what is still queued, then closes. */
  close(): void {
    this.socket.close();
  }
}
