// The network configuration on stdin (SPEC.md, "Network configuration") as hostnet-cni reads it:
//   { "cniVersion", "name", "type": "hostnet-cni", "network", "agentSocket"?,
//     "runtimeConfig"?: { "ips"?: [...], "mac"? }, "args"?: { "cni"?: { "ips"?, "mac"? } },
//     "prevResult"?, "cni.dev/valid-attachments"? (GC) }
// Static addresses and the MAC come from runtimeConfig (capabilities "ips", "mac"), else
// args.cni (CONVENTIONS.md), else CNI_ARGS IP= / MAC= (host-local's convention).
// Bad JSON is error 6; a wrong or missing field is error 7; an unsupported version is error 1.
import { validIpOrCidr, validMac } from './addresses.js';
import { ID_PATTERN, validIfName, type CniCommand } from './env.js';
import { CNI_ERR, CniError } from './errors.js';
import { requireSupported, versionAtLeast } from './version.js';

export const DEFAULT_AGENT_SOCKET = '/run/hostnet/agent.sock';

export interface ValidAttachment {
  containerId: string;
  ifName: string;
}

export interface NetConf {
  cniVersion: string;
  /** The CNI network's name (GC scope). */
  name: string;
  /** The hostnet network. */
  network: string;
  agentSocket: string;
  /** Static addresses asked for; empty: one auto address. */
  ips: string[];
  /** '' when none asked for. */
  mac: string;
  /** The previous plugin's (ADD) or the last ADD's (CHECK, DEL) result, as given. */
  prevResult: Record<string, unknown> | undefined;
  /** GC's cni.dev/valid-attachments. */
  validAttachments: ValidAttachment[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const bad = (msg: string, details = ''): CniError => new CniError(CNI_ERR.INVALID_CONFIG, msg, details);

function optionalObject(parent: Json, key: string, where: string): Json | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw bad(`${where}${key} must be an object`);
  return v;
}

function stringList(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(`${where} must be a list of strings`);
  return v as string[];
}

function optionalString(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`${where} must be a string`);
  return v;
}

/** The first source that gives static addresses, and the first that gives a MAC. */
function addressing(conf: Json, cniArgs: [string, string][]): { ips: string[]; mac: string } {
  const rc = optionalObject(conf, 'runtimeConfig', '');
  const argsCni = optionalObject(optionalObject(conf, 'args', '') ?? {}, 'cni', 'args.');
  const envIp = cniArgs.find(([k]) => k === 'IP')?.[1];
  const envMac = cniArgs.find(([k]) => k === 'MAC')?.[1];
  const ips = stringList(rc?.ips, 'runtimeConfig.ips')
    ?? stringList(argsCni?.ips, 'args.cni.ips')
    ?? (envIp ? envIp.split(',').map((s) => s.trim()).filter((s) => s !== '') : []);
  for (const ip of ips) if (!validIpOrCidr(ip)) throw bad(`invalid static address "${ip}"`, 'an address is 10.0.0.5 or 10.0.0.5/24');
  const mac = optionalString(rc?.mac, 'runtimeConfig.mac') ?? optionalString(argsCni?.mac, 'args.cni.mac') ?? envMac ?? '';
  if (mac && !validMac(mac)) throw bad(`invalid MAC "${mac}"`, 'a unicast MAC is six hex pairs, e.g. 02:00:00:00:00:01');
  return { ips, mac };
}

function validAttachments(conf: Json): ValidAttachment[] {
  const v = conf['cni.dev/valid-attachments'];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad('cni.dev/valid-attachments must be a list');
  return v.map((a, i) => {
    const where = `cni.dev/valid-attachments[${i}]`;
    if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') throw bad(`${where} must be { "containerID": string, "ifname": string }`);
    if (!ID_PATTERN.test(a.containerID) || !validIfName(a.ifname)) throw bad(`${where}: invalid containerID "${a.containerID}" or ifname "${a.ifname}"`);
    return { containerId: a.containerID, ifName: a.ifname };
  });
}

/** Parses and checks the configuration for `command`; VERSION is not parsed here. */
export function parseConfig(text: string, command: CniCommand, cniArgs: [string, string][]): NetConf {
  let conf: unknown;
  try {
    conf = JSON.parse(text);
  } catch (err) {
    throw new CniError(CNI_ERR.DECODE, 'failed to decode the network configuration on stdin', (err as Error).message);
  }
  if (!isObject(conf)) throw new CniError(CNI_ERR.DECODE, 'the network configuration on stdin is not a JSON object');
  const cniVersion = optionalString(conf.cniVersion, 'cniVersion') ?? '';
  requireSupported(cniVersion);
  if ((command === 'STATUS' || command === 'GC') && !versionAtLeast(cniVersion, '1.1.0')) {
    throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `${command} needs cniVersion 1.1.0 or later, the configuration has ${cniVersion}`);
  }
  const name = optionalString(conf.name, 'name');
  if (!name || !ID_PATTERN.test(name)) throw bad(`invalid network name "${name ?? ''}"`, 'name is required: a letter or digit, then letters, digits, _ . -');
  if (typeof conf.type !== 'string' || conf.type === '') throw bad('type is required');
  const network = optionalString(conf.network, 'network');
  if (!network) throw bad('network is required: the hostnet network to attach to');
  const agentSocket = optionalString(conf.agentSocket, 'agentSocket') ?? DEFAULT_AGENT_SOCKET;
  if (!agentSocket.startsWith('/')) throw bad(`agentSocket "${agentSocket}" must be an absolute path`);
  const prev = conf.prevResult;
  if (prev !== undefined && prev !== null && !isObject(prev)) throw bad('prevResult must be an object');
  return {
    cniVersion, name, network, agentSocket,
    ...addressing(conf, cniArgs),
    prevResult: isObject(prev) ? prev : undefined,
    validAttachments: command === 'GC' ? validAttachments(conf) : [],
  };
}
