// The runtime's CNI_* environment (SPEC.md, "Parameters"), checked for the command at hand:
// what a command needs and is missing, or is malformed, is error 4.
import { CNI_ERR, CniError } from './errors.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnv {
  command: CniCommand;
  /** '' for VERSION, STATUS, GC. */
  containerId: string;
  /** The namespace path; '' when not given (DEL may come without it). */
  netns: string;
  ifName: string;
  /** CNI_ARGS as key/value pairs, in order (keys as given). */
  args: [string, string][];
  path: string[];
}

/** The spec's rule for container ids and network names. */
export const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A Linux interface name: 1-15 bytes, not . or .., no '/', ':' or whitespace. */
export function validIfName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** "K1=V1;K2=V2" into pairs; an item without '=' or with an empty key is error 4. */
export function parseCniArgs(raw: string): [string, string][] {
  const out: [string, string][] = [];
  for (const item of raw.split(';')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CniError(CNI_ERR.INVALID_ENV, `invalid CNI_ARGS item "${item}"`, 'CNI_ARGS is K=V pairs separated by ";"');
    out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

const needs: Record<CniCommand, { id: boolean; netns: boolean; ifName: boolean }> = {
  ADD: { id: true, netns: true, ifName: true },
  CHECK: { id: true, netns: true, ifName: true },
  DEL: { id: true, netns: false, ifName: true },
  VERSION: { id: false, netns: false, ifName: false },
  STATUS: { id: false, netns: false, ifName: false },
  GC: { id: false, netns: false, ifName: false },
};

export function parseEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CNI_ERR.INVALID_ENV, command ? `unknown CNI_COMMAND ${command}` : 'CNI_COMMAND is not set', `one of ${COMMANDS.join(', ')}`);
  }
  const cmd = command as CniCommand;
  const need = needs[cmd];
  const containerId = env.CNI_CONTAINERID ?? '';
  const netns = env.CNI_NETNS ?? '';
  const ifName = env.CNI_IFNAME ?? '';
  const missing = (name: string): CniError => new CniError(CNI_ERR.INVALID_ENV, `${cmd}: ${name} is not set`);
  if (need.id) {
    if (!containerId) throw missing('CNI_CONTAINERID');
    if (!ID_PATTERN.test(containerId)) throw new CniError(CNI_ERR.INVALID_ENV, `${cmd}: invalid CNI_CONTAINERID "${containerId}"`, 'it must start with a letter or digit, then letters, digits, _ . -');
  }
  if (need.netns && !netns) throw missing('CNI_NETNS');
  if (need.ifName) {
    if (!ifName) throw missing('CNI_IFNAME');
    if (!validIfName(ifName)) throw new CniError(CNI_ERR.INVALID_ENV, `${cmd}: invalid CNI_IFNAME "${ifName}"`, 'an interface name is 1-15 bytes without "/", ":" or spaces');
  }
  return {
    command: cmd, containerId, netns, ifName,
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
}
