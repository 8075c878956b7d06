// bench:dhcp's arguments, the same for DHCPv4 (main.ts) and DHCPv6 (v6-main.ts, --v6): only the
// name in messages and the default servers differ.
export interface Args {
  seconds: number;
  latencySeconds: number;
  servers: string[];
  json: boolean;
  maxRate: number;
}

/** `name` ("bench/dhcp", "bench/dhcp --v6") prefixes the errors; `servers` are the defaults. */
export function parseArgs(argv: string[], name: string, servers: string[]): Args {
  const a: Args = { seconds: 3, latencySeconds: 5, servers, json: false, maxRate: 16_000 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--json') a.json = true;
    else if (k === '--seconds') a.seconds = Number(argv[++i]);
    else if (k === '--latency-seconds') a.latencySeconds = Number(argv[++i]);
    else if (k === '--max-rate') a.maxRate = Number(argv[++i]);
    else if (k === '--servers') a.servers = (argv[++i] ?? '').split(',');
    else throw new Error(`${name}: unknown argument "${k}" (use --seconds 3 --latency-seconds 5 --max-rate 16000 --servers ${servers.join(',')} --json)`);
  }
  if (!(a.seconds >= 1) || !(a.latencySeconds >= 1)) throw new Error(`${name}: --seconds and --latency-seconds take whole seconds >= 1`);
  return a;
}
