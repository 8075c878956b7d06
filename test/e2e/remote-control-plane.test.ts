// The remote control plane (issue 12): the real agent (against a test namespace) also listens on
// 127.0.0.1:<port the kernel picks> with mutual TLS, and hostnetctl --server drives it. A good
// client works (reads, apply --wait); no certificate, another CA's certificate and an identity
// not allowed are refused with UNAUTHENTICATED / PERMISSION_DENIED and logged; hostnetctl says
// what a bad server certificate means; Cni is not served over TCP; the server certificate is
// reloaded when its files change (an unusable half-replaced set is not installed).
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCert, makeCa, type CertFiles } from '../../agent/testing/pki.js';
import { buildDist, CTL_JS, startAgent, type AgentProcess, type CtlResult } from '../lib/agent-process.js';
import { eventually, network } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(1, 'all', 'tls');
let dir: string;
let agent: AgentProcess | null = null;
let server: string;
let ca: CertFiles;
let otherCa: CertFiles;
const clients: Record<string, CertFiles> = {};
/** The files the agent serves (replaced by the reload test). */
let served: { certFile: string; keyFile: string };

/** hostnetctl --server SERVER with a client's certificate and the CA of the agent's certificate. */
async function ctl(client: CertFiles | null, args: string[], opts: { ca?: string; server?: string; extra?: string[]; input?: string } = {}): Promise<CtlResult> {
  const tls = client ? ['--cert', client.certFile, '--key', client.keyFile] : [];
  const r = await execa(process.execPath, [CTL_JS, '--server', opts.server ?? server, ...tls, '--ca', opts.ca ?? ca.certFile, ...(opts.extra ?? []), ...args], {
    reject: false, timeout: 60_000, ...(opts.input ? { input: opts.input } : {}),
  });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** A raw gRPC client: with a client certificate, or with none (hostnetctl insists on one). */
async function rawClient(client: CertFiles | null): Promise<grpc.Client> {
  const creds = client
    ? grpc.credentials.createSsl(await readFile(ca.certFile), await readFile(client.keyFile), await readFile(client.certFile))
    : grpc.credentials.createSsl(await readFile(ca.certFile));
  // By the certificate's DNS name: the IP as TLS server name makes Node warn (DEP0123).
  return new grpc.Client(server, creds, { 'grpc.ssl_target_name_override': 'node1.lab' });
}

function unaryBytes(c: grpc.Client, method: string, body = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => c.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, body, { deadline: Date.now() + 10_000 },
    (err, res) => (err ? reject(err) : resolve(res!))));
}

/** The serial of the certificate a new TLS connection to the agent gets, and the open socket. */
function tlsPeer(): Promise<{ serial: string; subject: string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      host: '127.0.0.1', port: Number(server.split(':')[1]), ALPNProtocols: ['h2'],
      ca: [clientFiles.ca], cert: clientFiles.cert, key: clientFiles.key, checkServerIdentity: () => undefined,
    }, () => {
      const c = s.getPeerCertificate();
      resolve({ serial: c.serialNumber, subject: c.subject.CN as string, close: () => s.destroy() });
    });
    s.once('error', reject);
  });
}
let clientFiles: { ca: Buffer; cert: Buffer; key: Buffer };

/** Replaces a file the way renewal tools do: a new file renamed over the old one. */
async function replace(file: string, from: string): Promise<void> {
  await writeFile(`${file}.new`, await readFile(from));
  await rename(`${file}.new`, file);
}

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-e2e-tls-'));
  const pki = path.join(dir, 'pki');
  ca = await makeCa(pki, 'lab-ca');
  otherCa = await makeCa(path.join(pki, 'other'), 'other-ca');
  const agentCert = await issueCert(ca, pki, 'agent', { sans: ['IP:127.0.0.1', 'DNS:node1.lab'], usage: 'server' });
  clients['ctl'] = await issueCert(ca, pki, 'ctl', { sans: ['DNS:ctl.lab'], usage: 'client' });
  clients['ops'] = await issueCert(ca, pki, 'ops', { sans: ['DNS:ops-7.lab', 'URI:spiffe://lab/ops'], usage: 'client' });
  clients['intruder'] = await issueCert(ca, pki, 'intruder', { sans: ['DNS:intruder.lab', 'IP:127.0.0.1'], usage: 'client' });
  // Same name as the good client, issued by another CA.
  clients['forged'] = await issueCert(otherCa, path.join(pki, 'other'), 'ctl', { sans: ['DNS:ctl.lab'], usage: 'client' });
  clientFiles = { ca: await readFile(ca.certFile), cert: await readFile(clients['ctl']!.certFile), key: await readFile(clients['ctl']!.keyFile) };
  // The agent serves copies: the reload test replaces them.
  served = { certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key') };
  await replace(served.certFile, agentCert.certFile);
  await replace(served.keyFile, agentCert.keyFile);
  agent = await startAgent({
    netns: ns[0]!, socket: path.join(dir, 'run', 'agent.sock'), stateDir: path.join(dir, 'state'),
    extraArgs: ['--listen', '127.0.0.1:0', '--tls-cert', served.certFile, '--tls-key', served.keyFile, '--tls-client-ca', ca.certFile,
      '--tls-allow-client', 'DNS:ctl.lab', '--tls-allow-client', 'URI:spiffe://lab/ops'],
    env: { HOSTNET_TLS_RELOAD_MS: '200' },
  });
  const m = /"address":"(127\.0\.0\.1:\d+)"[^\n]*"msg":"listening for remote control planes/.exec(agent.logs());
  if (!m) throw new Error(`no "listening for remote control planes" line in the agent's log:\n${agent.logs().slice(-2000)}`);
  server = m[1]!;
});

afterAll(async () => {
  if (agent) await agent.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('remote control plane over mutual TLS', () => {
  it('an allowed client reads the agent: by DNS SAN, and by URI SAN', async () => {
    const r = await ctl(clients['ctl']!, ['get', 'networks']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+BRIDGE/);
    const ops = await ctl(clients['ops']!, ['get', 'networks', '-o', 'json']);
    expect(ops.exitCode, ops.stderr).toBe(0);
    expect(agent!.logs()).toMatch(/"identity":"URI:spiffe:\/\/lab\/ops","msg":"remote call"/);
  });

  it('the server name is checked: by IP SAN when connecting by IP, by DNS SAN with --server-name', async () => {
    expect((await ctl(clients['ctl']!, ['get', 'networks'], { extra: ['--server-name', 'node1.lab'] })).exitCode).toBe(0);
    const wrong = await ctl(clients['ctl']!, ['get', 'networks'], { extra: ['--server-name', 'node2.lab'] });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain(`hostnetctl: cannot reach the agent at ${server} over mTLS: TLS handshake failed: the server's certificate does not name the host connected to`);
  });

  it('a server certificate of another CA than --ca: hostnetctl says so', async () => {
    const r = await ctl(clients['ctl']!, ['get', 'networks'], { ca: otherCa.certFile });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`cannot reach the agent at ${server} over mTLS: TLS handshake failed: the server's certificate is not issued by the CA given with --ca`);
  });

  it('no client certificate: UNAUTHENTICATED, logged', async () => {
    const c = await rawClient(null);
    try {
      const err = await unaryBytes(c, '/hostnet.v1.NodeAgent/GetState').then(() => null, (e: grpc.ServiceError) => e);
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err?.details).toMatch(/^client certificate required/);
    } finally {
      c.close();
    }
    await eventually('the refusal logged', () => /"method":"\/hostnet.v1.NodeAgent\/GetState"[^\n]*"code":"UNAUTHENTICATED","reason":"client certificate required/.test(agent!.logs()));
    // hostnetctl has no way to leave the certificate out: it insists.
    const r = await ctl(null, ['get', 'networks']);
    expect(r.stderr).toContain('--cert FILE, --key FILE missing');
  });

  it('a client certificate of another CA (same name): UNAUTHENTICATED, naming it', async () => {
    const r = await ctl(clients['forged']!, ['get', 'networks']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`hostnetctl: the agent at ${server} over mTLS refused this client: UNAUTHENTICATED: client certificate (subject "CN=ctl", serial ${clients['forged']!.serial}) not issued by the agent's client CA`);
    expect(agent!.logs()).toContain(`"serial":"${clients['forged']!.serial}","code":"UNAUTHENTICATED"`);
  });

  it('a certificate of the CA whose SANs are not allowed: PERMISSION_DENIED, listing them', async () => {
    const r = await ctl(clients['intruder']!, ['get', 'networks']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`refused this client: PERMISSION_DENIED: client identity not allowed: the certificate's SANs (DNS:intruder.lab, IP:127.0.0.1) match none of the agent's allowed clients (DNS:ctl.lab, URI:spiffe://lab/ops)`);
    // Also for the services beside NodeAgent.
    const c = await rawClient(clients['intruder']!);
    try {
      const err = await unaryBytes(c, '/grpc.health.v1.Health/Check').then(() => null, (e: grpc.ServiceError) => e);
      expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    } finally {
      c.close();
    }
    expect(agent!.logs()).toMatch(/"subject":"CN=intruder"[^\n]*"code":"PERMISSION_DENIED"[^\n]*"msg":"remote call refused"/);
  });

  it('health is served over TCP; Cni is not (it stays on the unix socket)', async () => {
    const c = await rawClient(clients['ctl']!);
    try {
      // HealthCheckResponse { status: SERVING (1) }
      expect([...await unaryBytes(c, '/grpc.health.v1.Health/Check')]).toEqual([0x08, 0x01]);
      const err = await unaryBytes(c, '/hostnet.v1.Cni/Add').then(() => null, (e: grpc.ServiceError) => e);
      expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      c.close();
    }
  });

  it('apply over TCP: the network is created in the agent\'s namespace', async () => {
    const file = path.join(dir, 'state.json');
    await writeFile(file, JSON.stringify({ generation: 1, networks: [network('remote', 61)], attachments: [] }));
    const r = await ctl(clients['ctl']!, ['apply', '-f', file, '--wait', '--timeout', '60']);
    expect(r.exitCode, r.stderr).toBe(0);
    const get = await ctl(clients['ops']!, ['get', 'networks']);
    const row = /^remote\s+(\S+)\s+10\.77\.61\.0\/24\s.*\sTrue\s/m.exec(get.stdout);
    expect(row, get.stdout).not.toBeNull();
    const link = await execa('ip', ['-n', ns[0]!, '-j', 'link', 'show', 'dev', row![1]!], { reject: false });
    expect(link.exitCode, link.stderr).toBe(0);
  });

  it('the server certificate is reloaded when its files change; a half-replaced set is not installed', async () => {
    const before = await tlsPeer();
    // A gRPC channel connected before the change.
    const early = await rawClient(clients['ctl']!);
    await unaryBytes(early, '/grpc.health.v1.Health/Check');
    const next = await issueCert(ca, path.join(dir, 'pki', 'next'), 'agent', { sans: ['IP:127.0.0.1', 'DNS:node1.lab'], usage: 'server', cn: 'agent-v2' });
    expect(next.serial).not.toBe(before.serial);
    // The certificate first: it does not fit the key being served, so nothing changes yet.
    const from = agent!.logs().length;
    await replace(served.certFile, next.certFile);
    await eventually('the unusable set logged', () => agent!.logs().indexOf('TLS files changed but are not usable', from) >= 0, 5000);
    const during = await tlsPeer();
    expect(during.serial).toBe(before.serial);
    during.close();
    // Then the key: the new certificate is served to new connections.
    await replace(served.keyFile, next.keyFile);
    const after = await eventually('a new connection gets the new certificate', async () => {
      const p = await tlsPeer();
      p.close();
      return p.serial === next.serial ? p : undefined;
    }, 5000);
    expect(after.subject).toBe('agent-v2');
    expect(agent!.logs()).toContain(`"serial":"${next.serial}"`);
    // Connections made before go on (with the certificate they were made with).
    before.close();
    try {
      expect([...await unaryBytes(early, '/grpc.health.v1.Health/Check')]).toEqual([0x08, 0x01]);
    } finally {
      early.close();
    }
    const r = await ctl(clients['ctl']!, ['get', 'networks']);
    expect(r.exitCode, r.stderr).toBe(0);
  });
});
