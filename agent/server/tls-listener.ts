// The remote control plane's way in: gRPC over TCP with mutual TLS, on --listen HOST:PORT,
// beside the unix socket. A server of its own (not another port of the unix socket's server):
// the services it serves are chosen by the caller (server.ts: NodeAgent, health, reflection;
// never Cni, which is hostnet-cni's local business), and every call first passes the client
// check of tls-auth.ts. The certificate and key are reloaded when their files change
// (cert-reloader.ts).
import * as grpc from '@grpc/grpc-js';
import { parseListenAddress } from '../metrics/address.js';
import type { ReconcileLogger } from '../reconcile/reconciler.js';
import { ReloadingCertificates } from './cert-reloader.js';
import { parseAllowedIdentity } from './client-identity.js';
import { clientAuthInterceptor } from './tls-auth.js';

export interface TlsConfig {
  /** PEM server certificate (chain) and key; both are reloaded when their files change. */
  certFile: string;
  keyFile: string;
  /** PEM CA bundle that client certificates must chain to. */
  clientCaFile: string;
  /** Client identities let in, matched against the certificate's SANs (DNS, URI, IP); empty: any client of the CA. */
  allowedClients: string[];
}


export interface TlsListener {
  /** HOST:PORT as bound (the port the kernel chose when 0 was asked for). */
  address: string;
  port: number;
  certificates: ReloadingCertificates;
  /** The grpc server, for shutting down together with the unix socket's. */
  server: grpc.Server;
}

export interface TlsListenerOptions {
  address: string;
  tls: TlsConfig;
  /** Adds the services this listener serves. */
  addServices: (server: grpc.Server) => void;
  log?: ReconcileLogger | undefined;
}

export async function startTlsListener(opts: TlsListenerOptions): Promise<TlsListener> {
  const { host, port } = parseListenAddress(opts.address);
  // Bad entries fail the start (with the entry named), not every call later.
  const allowed = opts.tls.allowedClients.map((text) => {
    try {
      return parseAllowedIdentity(text);
    } catch (err) {
      throw new Error(`--tls-allow-client: ${(err as Error).message}`);
    }
  });
  const certificates = await ReloadingCertificates.open(opts.tls, opts.log);
  // requireClientCertificate false: the certificate is asked for (the CA provider is there) but
  // a connection without a good one is not dropped in the handshake; the interceptor refuses its
  // calls with a status that says why (see tls-auth.ts). grpc-js's declared parameter names for
  // this function are swapped against what it does (identity first); one provider serves both.
  const credentials = grpc.experimental.createServerCredentialsWithInterceptors(
    grpc.experimental.createCertificateProviderServerCredentials(certificates, certificates, false),
    [clientAuthInterceptor(allowed, opts.log)],
  );
  const server = new grpc.Server();
  opts.addServices(server);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let bound: number;
  try {
    bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${hostPart}:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))));
  } catch (err) {
    certificates.close();
    server.forceShutdown();
    throw new Error(`listen on ${opts.address} (gRPC over mutual TLS): ${(err as Error).message}`);
  }
  opts.log?.info({
    address: `${hostPart}:${bound}`, certificate: certificates.certificate, clientCa: opts.tls.clientCaFile,
    allowedClients: allowed.length ? allowed.map((a) => a.text) : 'any client of the CA',
  }, 'listening for remote control planes (gRPC, mutual TLS)');
  return { address: `${hostPart}:${bound}`, port: bound, certificates, server };
}
