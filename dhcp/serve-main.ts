// A standalone DHCP server process for one network, until the agent hosts the instances:
//   node dist/dhcp/serve-main.js --netns NS --interface BR --config FILE.json --lease-file PATH
// Logs pino JSON on stdout. SIGTERM/SIGINT: stop cleanly (replies in flight are committed and
// sent) and exit 0. SIGUSR1: log the counters. SIGHUP: re-read the config file and reconfigure.
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { openNetlinkDataplane } from '../dataplane/netlink/backend.js';
import type { Dataplane } from '../dataplane/types.js';
import { DhcpServer } from './server.js';
import type { NeighbourWriter, NetworkDhcpConfig } from './types.js';

interface Args {
  netns: string | null;
  device: string;
  configFile: string;
  leaseFile: string;
}

const USAGE = 'usage: serve-main.js [--netns NS] --interface BR --config FILE.json --lease-file PATH';

function parseArgs(argv: string[]): Args {
  const out: Partial<Args> = { netns: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${a} wants a value\n${USAGE}`);
    if (a === '--netns') out.netns = v;
    else if (a === '--interface') out.device = v;
    else if (a === '--config') out.configFile = v;
    else if (a === '--lease-file') out.leaseFile = v;
    else throw new Error(`unknown argument "${a}"\n${USAGE}`);
    i++;
  }
  if (!out.device || !out.configFile || !out.leaseFile) throw new Error(USAGE);
  return out as Args;
}

async function readConfig(path: string): Promise<NetworkDhcpConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`read DHCP config ${path}: ${String(err)}`);
  }
  const c = parsed as Partial<NetworkDhcpConfig> | null;
  if (!c || typeof c !== 'object' || typeof c.network !== 'string' || typeof c.cidr !== 'string' ||
      typeof c.serverAddress !== 'string' || typeof c.leaseSeconds !== 'number') {
    throw new Error(`read DHCP config ${path}: needs at least network, cidr, serverAddress and leaseSeconds`);
  }
  return c as NetworkDhcpConfig;
}

/** The runner's side of NeighbourWriter: the dataplane, in the server's namespace. */
function neighbourWriter(dp: Dataplane): NeighbourWriter {
  return { setNeighbour: (dev, ip, mac) => dp.setNeighbour({ dev, ip, mac, state: 'reachable' }) };
}

async function main(): Promise<void> {
  const log = pino({ name: 'hostnet-dhcp' });
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const config = await readConfig(args.configFile);
  const dp = await openNetlinkDataplane(args.netns);
  const server = new DhcpServer({
    netns: args.netns, device: args.device, config, leaseFile: args.leaseFile, neighbours: neighbourWriter(dp), log,
  });
  await server.start();
  log.info({ pid: process.pid }, 'ready');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void server.stop().then(() => dp.close()).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: String(err) }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGUSR1', () => log.info({ counters: server.counters, leases: server.leases().length }, 'counters'));
  process.on('SIGHUP', () => {
    readConfig(args.configFile)
      .then((c) => server.reconfigure(c))
      .catch((err: unknown) => log.error({ err: String(err) }, 'reconfigure failed; keeping the old config'));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`hostnet-dhcp: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
