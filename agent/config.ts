// hostnet-agent's settings: defaults, then the config file (YAML), then flags (flags win).
// The default config file may be absent; a file named with --config must exist.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { parseListenAddress } from './metrics/address.js';
import { DEFAULT_SOCKET_PATH } from './server/unix-socket.js';

export const DEFAULT_CONFIG_PATH = '/etc/hostnet/agent.yaml';
export const DEFAULT_STATE_DIR = '/var/lib/hostnet';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const DATAPLANES = ['netlink', 'iproute2'] as const;
export type DataplaneBackend = (typeof DATAPLANES)[number];

export interface AgentConfig {
  socket: string;
  stateDir: string;
  /** Run against this named netns (or path) instead of the agent's own. */
  netns: string | null;
  resyncIntervalSeconds: number;
  logLevel: LogLevel;
  /** HOST:PORT serving Prometheus metrics on /metrics; null: no metrics endpoint. */
  metricsAddress: string | null;
  /** How the kernel is programmed: rtnetlink directly (default), or the `ip` binary. */
  dataplane: DataplaneBackend;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const USAGE = `usage: hostnet-agent [--config FILE] [--socket PATH] [--state-dir DIR] [--netns NAME]
                     [--resync-interval SECONDS] [--log-level LEVEL] [--metrics-address HOST:PORT]
                     [--dataplane netlink|iproute2]`;

/** The file's keys, as admins write them (camelCase or kebab-case). */
function fromFile(file: string, explicit: boolean): Partial<AgentConfig> {
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
  const out: Partial<AgentConfig> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (key === 'socket' || key === 'stateDir' || key === 'netns') out[key] = String(v);
    else if (key === 'resyncIntervalSeconds' || key === 'resyncInterval') out.resyncIntervalSeconds = seconds(String(v), `${file}: ${k}`);
    else if (key === 'logLevel') out.logLevel = level(String(v), `${file}: ${k}`);
    else if (key === 'metricsAddress') out.metricsAddress = listenAddress(String(v), `${file}: ${k}`);
    else if (key === 'dataplane') out.dataplane = backend(String(v), `${file}: ${k}`);
    else throw new ConfigError(`config ${file}: unknown key "${k}" (known: socket, stateDir, netns, resyncIntervalSeconds, logLevel, metricsAddress, dataplane)`);
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
        'state-dir': { type: 'string' },
        netns: { type: 'string' },
        'resync-interval': { type: 'string' },
        'log-level': { type: 'string' },
        'metrics-address': { type: 'string' },
        dataplane: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) throw new ConfigError(USAGE);
  const file = fromFile(values.config ?? DEFAULT_CONFIG_PATH, values.config !== undefined);
  return {
    socket: values.socket ?? file.socket ?? DEFAULT_SOCKET_PATH,
    stateDir: values['state-dir'] ?? file.stateDir ?? DEFAULT_STATE_DIR,
    netns: values.netns ?? file.netns ?? null,
    resyncIntervalSeconds: values['resync-interval'] !== undefined ? seconds(values['resync-interval'], '--resync-interval') : file.resyncIntervalSeconds ?? 60,
    logLevel: values['log-level'] !== undefined ? level(values['log-level'], '--log-level') : file.logLevel ?? 'info',
    metricsAddress: values['metrics-address'] !== undefined ? listenAddress(values['metrics-address'], '--metrics-address') : file.metricsAddress ?? null,
    dataplane: values.dataplane !== undefined ? backend(values.dataplane, '--dataplane') : file.dataplane ?? 'netlink',
  };
}
