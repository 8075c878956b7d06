// Connection tracking entries of a network namespace, through the conntrack tool
// (conntrack-tools): list them, delete one flow. Used to end flows a firewall no longer allows.
import { execa } from 'execa';
import { DataplaneError } from './errors.js';
import { commandIn } from './netns-path.js';

/** One tracked flow in its original direction. */
export interface ConntrackFlow {
  /** IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, ...). */
  protocol: number;
  src: string;
  dst: string;
  /** Ports, for protocols that have them. */
  sport?: number;
  dport?: number;
  /** The conntrack zone, when not the default 0. */
  zone?: number;
}

const env = { LC_ALL: 'C', LANG: 'C' };

/** Parses `conntrack -L` lines (the first src/dst/sport/dport are the original direction). */
export function parseConntrackList(text: string): ConntrackFlow[] {
  const out: ConntrackFlow[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const protocol = Number(words[1]);
    if (words.length < 4 || !Number.isInteger(protocol)) continue;
    const first = (key: string): string | undefined => words.find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);
    const src = first('src');
    const dst = first('dst');
    if (!src || !dst) continue;
    const sport = first('sport');
    const dport = first('dport');
    const zone = Number(first('zone') ?? 0);
    out.push({ protocol, src, dst, ...(sport ? { sport: Number(sport) } : {}), ...(dport ? { dport: Number(dport) } : {}), ...(zone ? { zone } : {}) });
  }
  return out;
}

export interface ConntrackTool {
  list(): Promise<ConntrackFlow[]>;
  /** Deletes the flow (every flow of its protocol between the two addresses when it has no ports). */
  delete(flow: ConntrackFlow): Promise<void>;
}

export function conntrackTool(netns: string | null, binary = 'conntrack'): ConntrackTool {
  const run = async (args: string[], op: string, object: string): Promise<string> => {
    const inv = commandIn(netns, binary, args);
    const r = await execa(inv.file, inv.args, { env, reject: false });
    if (r.exitCode === undefined) throw new DataplaneError(op, object, r.code ?? 'ENOENT', r.message ?? `could not run ${binary}`);
    // Deleting a flow that ended meanwhile is not a failure.
    if (r.exitCode !== 0 && !/0 flow entries/.test(r.stderr)) throw new DataplaneError(op, object, 'EIO', r.stderr.trim() || `${binary} exited ${r.exitCode}`);
    return r.stdout;
  };
  return {
    async list() {
      return parseConntrackList(await run(['-L'], 'list conntrack', 'flows'));
    },
    async delete(f) {
      const family = f.src.includes(':') ? ['-f', 'ipv6'] : [];
      const ports = f.sport !== undefined && f.dport !== undefined ? ['--sport', String(f.sport), '--dport', String(f.dport)] : [];
      const zone = f.zone ? ['-w', String(f.zone)] : [];
      await run(['-D', ...family, ...zone, '-p', String(f.protocol), '-s', f.src, '-d', f.dst, ...ports], 'delete conntrack flow', `${f.protocol} ${f.src} -> ${f.dst}`);
    },
  };
}
