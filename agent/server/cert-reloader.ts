// The TCP listener's TLS files (server certificate chain, key, client CA bundle), read again
// whenever they change so that a renewed certificate is served without a restart. It is a
// grpc-js certificate provider: the server installs each update as its secure context, which new
// connections use; open connections keep the certificate they were made with.
//
// grpc-js has a FileWatcherCertificateProvider, but it hands on whatever it read: a certificate
// replaced before its key (or a file briefly missing) would make grpc-js drop every new
// connection until the next read. Here a new set is installed only once it makes a valid TLS
// context (the key fits the certificate, every PEM parses); otherwise the previous one stays
// and the problem is logged.
import type { experimental } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { ReconcileLogger } from '../reconcile/reconciler.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile: string;
}

interface Material {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** How often the files are read; HOSTNET_TLS_RELOAD_MS overrides it (tests shorten it). */
export function reloadIntervalMs(): number {
  const v = Number(process.env['HOSTNET_TLS_RELOAD_MS']);
  return Number.isInteger(v) && v > 0 ? v : 5000;
}

/** What the logs say of a certificate. */
export function describeCertificate(pem: Buffer): { subject: string; serial: string; notAfter: string; sans: string } {
  const x = new X509Certificate(pem);
  return { subject: x.subject.replace(/\n/g, ','), serial: x.serialNumber, notAfter: x.validTo, sans: x.subjectAltName ?? '' };
}

async function readAll(files: TlsFiles): Promise<Material> {
  const read = (what: string, file: string): Promise<Buffer> => readFile(file).catch((err: Error) => {
    throw new Error(`read TLS ${what} ${file}: ${err.message}`);
  });
  const [cert, key, ca] = await Promise.all([read('certificate', files.certFile), read('key', files.keyFile), read('client CA', files.clientCaFile)]);
  return { cert, key, ca };
}

/** Throws, naming the files, when the set cannot serve TLS. */
function check(m: Material, files: TlsFiles): void {
  try {
    createSecureContext({ cert: m.cert, key: m.key, ca: m.ca });
    new X509Certificate(m.cert);
  } catch (err) {
    throw new Error(`TLS files ${files.certFile}, ${files.keyFile}, ${files.clientCaFile} unusable: ${(err as Error).message}`);
  }
}

const same = (a: Material, b: Material): boolean => a.cert.equals(b.cert) && a.key.equals(b.key) && a.ca.equals(b.ca);

export class ReloadingCertificates implements experimental.CertificateProvider {
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  /** The last set that failed the check (logged once, not at every read). */
  private rejected: Material | null = null;

  private constructor(readonly files: TlsFiles, private current: Material, private readonly log: ReconcileLogger | undefined, private readonly intervalMs: number) {}

  /** Reads and checks the files once: the agent does not start with TLS files it cannot use. */
  static async open(files: TlsFiles, log?: ReconcileLogger, intervalMs = reloadIntervalMs()): Promise<ReloadingCertificates> {
    const m = await readAll(files);
    check(m, files);
    return new ReloadingCertificates(files, m, log, intervalMs);
  }

  /** The certificate being served (for logs and tests). */
  get certificate(): ReturnType<typeof describeCertificate> {
    return describeCertificate(this.current.cert);
  }

  /** Reads the files; installs them if they changed and are usable. Never throws. */
  async refresh(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const m = await readAll(this.files);
      if (same(m, this.current) || (this.rejected && same(m, this.rejected))) return;
      try {
        check(m, this.files);
      } catch (err) {
        this.rejected = m;
        this.log?.warn({ err: (err as Error).message, serving: this.certificate.serial }, 'TLS files changed but are not usable: still serving the previous certificate');
        return;
      }
      this.current = m;
      this.rejected = null;
      this.log?.info({ ...this.certificate, certFile: this.files.certFile }, 'TLS files reloaded: new connections get this certificate');
      this.publish();
    } catch (err) {
      // A file missing for a moment (replaced by rename) is not worth more than debug: the next read sees it.
      this.log?.debug({ err: (err as Error).message }, 'TLS files not readable: still serving the previous certificate');
    } finally {
      this.reading = false;
    }
  }

  private publish(): void {
    for (const l of this.identityListeners) l({ certificate: this.current.cert, privateKey: this.current.key });
    for (const l of this.caListeners) l({ caCertificate: this.current.ca });
  }

  private watch(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  private unwatchIfUnused(): void {
    if (this.identityListeners.size || this.caListeners.size || !this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  // The first update is delivered on the next tick, as grpc-js's own providers do: its server
  // registers to hear the credentials only after asking for the listeners.
  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    this.watch();
    process.nextTick(() => listener({ certificate: this.current.cert, privateKey: this.current.key }));
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
    this.unwatchIfUnused();
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    this.watch();
    process.nextTick(() => listener({ caCertificate: this.current.ca }));
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
    this.unwatchIfUnused();
  }

  close(): void {
    this.identityListeners.clear();
    this.caListeners.clear();
    this.unwatchIfUnused();
  }
}
