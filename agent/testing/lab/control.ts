// The lab's control plane: its PKI (one CA, a server certificate per host naming its underlay
// address, one client certificate for the control plane) and hostnetctl run from the ctl
// namespace against a host's --listen over mutual TLS, as a remote control plane would.
import { execa } from 'execa';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../../dataplane/testing/project-root.js';
import { issueCert, makeCa } from '../pki.js';
import { AGENT_PORT, CTL_IDENTITY, hostAddress, hostFiles, hostName, type LabTopology } from './topology.js';

export const CTL_JS = path.join(projectRoot(import.meta.dirname), 'dist/agent/cli/main.js');

export interface LabPki {
  caFile: string;
  clientCert: string;
  clientKey: string;
}

/** The CA and the control plane's client certificate in <dir>/pki, each host's server certificate in <dir>/hN. */
export async function makePki(dir: string, hosts: number): Promise<LabPki> {
  const pkiDir = path.join(dir, 'pki');
  const ca = await makeCa(pkiDir, 'lab-ca');
  const client = await issueCert(ca, pkiDir, 'ctl', { sans: [`URI:${CTL_IDENTITY}`], usage: 'client' });
  for (let i = 1; i <= hosts; i++) {
    const f = hostFiles(dir, i);
    // issueCert names its files <dir>/<name>.crt|.key: agent.crt and agent.key in the host's directory.
    await issueCert(ca, f.dir, 'agent', { sans: [`IP:${hostAddress(i)}`, `DNS:${hostName(i)}`], usage: 'server' });
  }
  return { caFile: ca.certFile, clientCert: client.certFile, clientKey: client.keyFile };
}

/** The argv that runs hostnetctl against host i from the ctl namespace. */
export function ctlArgv(t: LabTopology, pki: LabPki, host: number): string[] {
  return ['ip', 'netns', 'exec', t.ctlNs, process.execPath, CTL_JS, '--server', `${hostAddress(host)}:${AGENT_PORT}`,
    '--cert', pki.clientCert, '--key', pki.clientKey, '--ca', pki.caFile];
}

export interface CtlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runCtl(t: LabTopology, pki: LabPki, host: number, args: string[], timeoutMs = 60_000): Promise<CtlResult> {
  const [file, ...rest] = ctlArgv(t, pki, host);
  const r = await execa(file!, [...rest, ...args], { reject: false, timeout: timeoutMs });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * One script per host, <dir>/bin/hostnetctl-hN, that runs hostnetctl against it over mTLS from
 * the ctl namespace: what a user of a lab left up types.
 */
export async function writeCtlScripts(t: LabTopology, pki: LabPki, dir: string): Promise<string[]> {
  const bin = path.join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const scripts: string[] = [];
  for (let i = 1; i <= t.hosts; i++) {
    const file = path.join(bin, `hostnetctl-${hostName(i)}`);
    const quoted = ctlArgv(t, pki, i).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    await writeFile(file, `#!/bin/sh\n# hostnetctl against lab host ${hostName(i)} (${hostAddress(i)}:${AGENT_PORT}) over mutual TLS, from the control namespace\nexec ${quoted} "$@"\n`);
    await chmod(file, 0o755);
    scripts.push(file);
  }
  return scripts;
}
