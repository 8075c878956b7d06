// The lab's names and addresses, in one place so that the lab, its CLI, the Vagrantfile's unit
// test and a reader agree: hosts <prefix>h1..hN on an underlay bridge in <prefix>underlay, each
// with eth0 at 10.77.0.<i>/24, and the control plane's namespace <prefix>ctl at 10.77.0.254.
// Pure: no I/O.
import path from 'node:path';

export const UNDERLAY_CIDR = '10.77.0.0/24';
export const UNDERLAY_PREFIX_LEN = 24;
export const CTL_ADDRESS = '10.77.0.254';
/** Where each agent serves gRPC over mutual TLS (--listen). */
export const AGENT_PORT = 7443;
/** The underlay device inside every host (and the ctl namespace). */
export const UNDERLAY_DEV = 'eth0';
/** Host numbers 1..MAX_HOSTS: 10.77.0.254 is the ctl namespace's, and /24 leaves room below it. */
export const MAX_HOSTS = 250;

/** Host `i` (1-based) on the underlay. */
export const hostAddress = (i: number): string => `10.77.0.${i}`;
export const hostName = (i: number): string => `h${i}`;

export interface LabTopology {
  prefix: string;
  hosts: number;
  underlayNs: string;
  ctlNs: string;
  /** hostNs[i - 1] is host i's namespace. */
  hostNs: string[];
}

/** A prefix is a netns-name start the CI leftovers check knows (hntest-, hnbench-, hndemo-). */
export function checkPrefix(prefix: string): void {
  if (!/^hn(test|bench|demo)-[a-z0-9-]*$/.test(prefix)) {
    throw new Error(`lab prefix "${prefix}": want hntest-, hnbench- or hndemo- followed by lowercase letters, digits and "-"`);
  }
}

export function topology(prefix: string, hosts: number): LabTopology {
  checkPrefix(prefix);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) throw new Error(`lab of ${hosts} hosts: want 1..${MAX_HOSTS}`);
  return {
    prefix, hosts,
    underlayNs: `${prefix}underlay`,
    ctlNs: `${prefix}ctl`,
    hostNs: Array.from({ length: hosts }, (_, k) => `${prefix}${hostName(k + 1)}`),
  };
}

/** A workload's namespace: <prefix>hN-<name>. */
export const workloadNs = (prefix: string, host: number, name: string): string => `${prefix}${hostName(host)}-${name}`;

/** Host i's FRR pathspace (config /etc/frr/NAME, sockets /var/run/frr/NAME): one instance per host. */
export const frrPathspace = (prefix: string, host: number): string => `${prefix}${hostName(host)}`;

/** Files of one host under the lab's directory. */
export function hostFiles(dir: string, host: number): { dir: string; socket: string; stateDir: string; log: string; pidFile: string; cert: string; key: string } {
  const d = path.join(dir, hostName(host));
  return {
    dir: d, socket: path.join(d, 'agent.sock'), stateDir: path.join(d, 'state'), log: path.join(d, 'agent.log'),
    pidFile: path.join(d, 'agent.pid'), cert: path.join(d, 'agent.crt'), key: path.join(d, 'agent.key'),
  };
}

/** The identity the lab's control plane presents (a URI SAN), the only client the agents let in. */
export const CTL_IDENTITY = 'spiffe://hostnet-lab/ctl';

/**
 * hostnet-agent's arguments for host i, after `ip netns exec <host ns> node dist/agent/main.js`.
 * The Vagrantfile's agent runs with the same --listen and TLS flags (checked by a unit test).
 */
export function agentArgs(t: LabTopology, dir: string, host: number, pki: { caFile: string }): string[] {
  const f = hostFiles(dir, host);
  return [
    '--config', '/dev/null', '--socket', f.socket, '--state-dir', f.stateDir,
    '--frr-pathspace', frrPathspace(t.prefix, host), '--log-level', 'info',
    '--listen', `${hostAddress(host)}:${AGENT_PORT}`,
    '--tls-cert', f.cert, '--tls-key', f.key, '--tls-client-ca', pki.caFile, '--tls-allow-client', CTL_IDENTITY,
  ];
}
