// hostnet-agent's settings: defaults, then the config file (YAML), then flags (flags win).
// The default config file may be absent; a file named with --config must exist.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { parseListenAddress } from './metrics/address.js';
import { DEFAULT_SOCKET_PATH } from './server/unix-socket.js';
import type { TlsConfig } from './server/tls-listener.js';

export type { TlsConfig };

export const DEFAULT_CONFIG_PATH = '/etc/hostnet/agent.yaml';
export const DEFAULT_STATE_DIR = '/var/lib/hostnet';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const DATAPLANES = ['netlink', 'iproute2'] as const;
export type DataplaneBackend = (typeof DATAPLANES)[number];

export interface AgentConfig {
  socket: string;
  /**
   * The group (name or number) the unix socket is given, so that its members may use the agent
   * (the socket is 0660); null: the agent's own group (root). The Debian package sets `hostnet`.
   */
  socketGroup: string | null;
  stateDir: string;
  /** Run against this named netns (or path) instead of the agent's own. */
  netns: string | null;
  resyncIntervalSeconds: number;
  logLevel: LogLevel;
  /** HOST:PORT serving Prometheus metrics on /metrics; null: no metrics endpoint. */
  metricsAddress: string | null;
  /** How the kernel is programmed: rtnetlink directly (default), or the `ip` binary. */
  dataplane: DataplaneBackend;
  /**
   * HOST:PORT where a remote control plane reaches the agent: gRPC over TCP with mutual TLS,
   * beside the unix socket. null: the unix socket only.
   */
  listen: string | null;
  /** The TLS files of `listen` (all three required with it) and the clients it lets in. */
  tls: TlsConfig | null;
  /** FRR (BGP, EVPN): which instance the agent configures, and whether it runs it. */
  frr: FrrConfig;
}

export interface FrrConfig {
  /** FRR's pathspace (`-N`): config in /etc/frr/NAME, sockets in /var/run/frr/NAME. "": the default instance. */
  pathspace: string;
  /** Start zebra and bgpd when BGP is configured and restart them when they die (true), or use an FRR someone else runs (false). */
  supervise: boolean;
}

export const DEFAULT_FRR_PATHSPACE = 'hostnet';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** --help: the usage is the message; main prints it on stdout and exits 0. */
export class HelpRequested extends ConfigError {}

const USAGE = `usage: hostnet-agent [--config FILE] [--socket PATH] [--socket-group GROUP] [--state-dir DIR] [--netns NAME]
                     [--resync-interval SECONDS] [--log-level LEVEL] [--metrics-address HOST:PORT]
                     [--dataplane netlink|iproute2]
                     [--listen HOST:PORT --tls-cert FILE --tls-key FILE --tls-client-ca FILE
                      [--tls-allow-client SAN]...]
                     [--frr-pathspace NAME] [--frr-supervise true|false]`;

/** What the config file may set: the settings, with TLS and FRR flat as the flags are. */
type FileConfig = Partial<Omit<AgentConfig, 'tls' | 'frr'>> & {
  tlsCert?: string; tlsKey?: string; tlsClientCa?: string; tlsAllowClients?: string[];
  frrPathspace?: string; frrSupervise?: boolean;
};

/** The file's keys, as admins write them (camelCase or kebab-case). */
function fromFile(file: string, explicit: boolean): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw new ConfigError(`read config ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`config ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`config ${file}: must be a mapping`);
  const out: FileConfig = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (key === 'socket' || key === 'socketGroup' || key === 'stateDir' || key === 'netns') out[key] = String(v);
    else if (key === 'resyncIntervalSeconds' || key === 'resyncInterval') out.resyncIntervalSeconds = seconds(String(v), `${file}: ${k}`);
    else if (key === 'logLevel') out.logLevel = level(String(v), `${file}: ${k}`);
    else if (key === 'metricsAddress') out.metricsAddress = listenAddress(String(v), `${file}: ${k}`);
    else if (key === 'dataplane') out.dataplane = backend(String(v), `${file}: ${k}`);
    else if (key === 'listen') out.listen = listenAddress(String(v), `${file}: ${k}`);
    else if (key === 'tlsCert' || key === 'tlsKey' || key === 'tlsClientCa') out[key] = String(v);
    else if (key === 'tlsAllowClients' || key === 'tlsAllowClient') out.tlsAllowClients = Array.isArray(v) ? v.map(String) : [String(v)];
    else if (key === 'frrPathspace') out.frrPathspace = String(v);
    else if (key === 'frrSupervise') out.frrSupervise = bool(String(v), `${file}: ${k}`);
    else throw new ConfigError(`config ${file}: unknown key "${k}" (known: socket, socketGroup, stateDir, netns, resyncIntervalSeconds, logLevel, metricsAddress, dataplane, listen, tlsCert, tlsKey, tlsClientCa, tlsAllowClients, frrPathspace, frrSupervise)`);
  }
  return out;
}

function seconds(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${what}: "${text}" is not a number of seconds`);
  return n;
}

function level(text: string, what: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) throw new ConfigError(`${what}: "${text}" is not one of ${LOG_LEVELS.join(', ')}`);
  return text as LogLevel;
}

function backend(text: string, what: string): DataplaneBackend {
  if (!(DATAPLANES as readonly string[]).includes(text)) throw new ConfigError(`${what}: "${text}" is not one of ${DATAPLANES.join(', ')}`);
  return text as DataplaneBackend;
}

function bool(text: string, what: string): boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  throw new ConfigError(`${what}: "${text}" is not true or false`);
}

/** --listen needs all three TLS files (there is no plaintext TCP); the files without --listen are a mistake too. */
function tlsOf(listen: string | null, cert?: string, key?: string, ca?: string, allowed: string[] = []): TlsConfig | null {
  const given = { '--tls-cert': cert, '--tls-key': key, '--tls-client-ca': ca };
  if (listen === null) {
    const stray = Object.entries(given).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (stray.length || allowed.length) throw new ConfigError(`${[...stray, ...(allowed.length ? ['--tls-allow-client'] : [])].join(', ')} given without --listen`);
    return null;
  }
  const missing = Object.entries(given).filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) throw new ConfigError(`--listen ${listen} serves gRPC over mutual TLS only: ${missing.join(', ')} missing`);
  return { certFile: cert!, keyFile: key!, clientCaFile: ca!, allowedClients: allowed };
}

function listenAddress(text: string, what: string): string {
  try {
    parseListenAddress(text);
  } catch (err) {
    throw new ConfigError(`${what}: ${(err as Error).message}`);
  }
  return text;
}

export function loadAgentConfig(argv: string[]): AgentConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        socket: { type: 'string' },
        'socket-group': { type: 'string' },
        'state-dir': { type: 'string' },
        netns: { type: 'string' },
        'resync-interval': { type: 'string' },
        'log-level': { type: 'string' },
        'metrics-address': { type: 'string' },
        dataplane: { type: 'string' },
        listen: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-client-ca': { type: 'string' },
        'tls-allow-client': { type: 'string', multiple: true },
        'frr-pathspace': { type: 'string' },
        'frr-supervise': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) throw new HelpRequested(USAGE);
  const file = fromFile(values.config ?? DEFAULT_CONFIG_PATH, values.config !== undefined);
  const listen = values.listen !== undefined ? listenAddress(values.listen, '--listen') : file.listen ?? null;
  return {
    socket: values.socket ?? file.socket ?? DEFAULT_SOCKET_PATH,
    socketGroup: values['socket-group'] ?? file.socketGroup ?? null,
    stateDir: values['state-dir'] ?? file.stateDir ?? DEFAULT_STATE_DIR,
    netns: values.netns ?? file.netns ?? null,
    resyncIntervalSeconds: values['resync-interval'] !== undefined ? seconds(values['resync-interval'], '--resync-interval') : file.resyncIntervalSeconds ?? 60,
    logLevel: values['log-level'] !== undefined ? level(values['log-level'], '--log-level') : file.logLevel ?? 'info',
    metricsAddress: values['metrics-address'] !== undefined ? listenAddress(values['metrics-address'], '--metrics-address') : file.metricsAddress ?? null,
    dataplane: values.dataplane !== undefined ? backend(values.dataplane, '--dataplane') : file.dataplane ?? 'netlink',
    listen,
    tls: tlsOf(listen, values['tls-cert'] ?? file.tlsCert, values['tls-key'] ?? file.tlsKey, values['tls-client-ca'] ?? file.tlsClientCa,
      values['tls-allow-client'] ?? file.tlsAllowClients ?? []),
    frr: {
      pathspace: values['frr-pathspace'] ?? file.frrPathspace ?? DEFAULT_FRR_PATHSPACE,
      supervise: values['frr-supervise'] !== undefined ? bool(values['frr-supervise'], '--frr-supervise') : file.frrSupervise ?? true,
    },
  };
}
