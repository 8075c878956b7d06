// A small PKI for tests, benches and the lab: a CA, server and client certificates with the
// SANs asked for, written as PEM files into a directory by the `openssl` command. EC P-256 keys
// keep it fast (a few ms a certificate). Never for production: keys are unencrypted and the CA
// key lies next to its certificate.
import { execa } from 'execa';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface CertFiles {
  /** The file name stem: <dir>/<name>.crt and <dir>/<name>.key. */
  name: string;
  certFile: string;
  keyFile: string;
  /** Hex, upper case, as X509Certificate.serialNumber prints it. */
  serial: string;
}

export interface IssueOptions {
  /** openssl's spelling: "DNS:node1.example", "IP:10.0.0.5", "URI:spiffe://lab/ctl". */
  sans: string[];
  /** Extended key usage: a server, a client, or both. */
  usage: 'server' | 'client' | 'both';
  /** Subject CN; the name by default. */
  cn?: string;
  /** Validity from now, in days. Default 365. */
  days?: number;
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[], what: string): Promise<void> {
  const r = await execa('openssl', args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`openssl ${what}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
}

/** A random positive serial: tests tell certificates apart by it. */
function newSerial(): string {
  const b = randomBytes(12);
  b[0] = (b[0]! & 0x7f) | 0x10;
  return b.toString('hex').toUpperCase();
}

export async function serialOf(certFile: string): Promise<string> {
  return new X509Certificate(await readFile(certFile)).serialNumber;
}

/** A self-signed CA valid for 10 years (`days` to change it). */
export async function makeCa(dir: string, name: string, days = 3650): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  await openssl(['req', '-x509', ...KEY_ARGS, '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${name}`, '-days', String(days),
    '-set_serial', `0x${newSerial()}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], `make CA ${name}`);
  return { name, certFile, keyFile, serial: await serialOf(certFile) };
}

/** A certificate signed by `ca`, with the SANs and usage asked for. */
export async function issueCert(ca: CertFiles, dir: string, name: string, opts: IssueOptions): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[opts.usage];
  await writeFile(ext, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    ...(opts.sans.length ? [`subjectAltName=${opts.sans.join(',')}`] : []),
    '',
  ].join('\n'));
  await openssl(['req', '-new', ...KEY_ARGS, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${opts.cn ?? name}`], `key and request for ${name}`);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${newSerial()}`,
    '-days', String(opts.days ?? 365), '-extfile', ext, '-out', certFile], `sign ${name} with ${ca.name}`);
  return { name, certFile, keyFile, serial: await serialOf(certFile) };
}

/** The usual lab set: a CA, the agent's server certificate and named clients, all in `dir`. */
export async function makeLabPki(dir: string, opts: { serverSans: string[]; clients: Record<string, string[]>; caName?: string }): Promise<{
  ca: CertFiles; server: CertFiles; clients: Record<string, CertFiles>;
}> {
  const ca = await makeCa(dir, opts.caName ?? 'hostnet-ca');
  const server = await issueCert(ca, dir, 'agent', { sans: opts.serverSans, usage: 'server' });
  const clients: Record<string, CertFiles> = {};
  for (const [name, sans] of Object.entries(opts.clients)) clients[name] = await issueCert(ca, dir, name, { sans, usage: 'client' });
  return { ca, server, clients };
}
