// Who may call the agent over TCP: every call on the TLS listener passes this interceptor before
// any handler sees it. The TLS layer asks for a client certificate but does not drop a
// connection without a good one (rejectUnauthorized false), so that the refusal is a gRPC status
// the client can read and the agent logs, instead of an anonymous handshake failure:
//   no certificate, or one not issued by the client CA  -> UNAUTHENTICATED
//   a verified certificate none of whose SANs is allowed -> PERMISSION_DENIED
import * as grpc from '@grpc/grpc-js';
import type { ServerHttp2Stream } from 'node:http2';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import type { ReconcileLogger } from '../reconcile/reconciler.js';
import { matchIdentity, parseSubjectAltName, sanText, type AllowedIdentity } from './client-identity.js';

/** What the TLS layer knows of a call's client. */
export interface PeerFacts {
  /** The certificate chains to the client CA. */
  authorized: boolean;
  /** OpenSSL's reason when it does not (e.g. "UNABLE_TO_VERIFY_LEAF_SIGNATURE"); null if unknown. */
  authorizationError: string | null;
  /** The presented certificate's fields, verified or not; null when none was presented (or unknown). */
  certificate: { subject: string; serial: string; subjectaltname: string | undefined } | null;
}

export type Decision =
  | { ok: true; identity: string }
  | { ok: false; code: grpc.status; message: string };

/** The decision for one call; pure, for the unit tests. */
export function decide(peer: PeerFacts, allowed: AllowedIdentity[]): Decision {
  if (!peer.authorized) {
    // No certificate at all (OpenSSL then says UNABLE_TO_GET_ISSUER_CERT, which misleads).
    if (peer.certificate === null) {
      return { ok: false, code: grpc.status.UNAUTHENTICATED, message: 'client certificate required: the agent\'s TCP listener accepts only mutual TLS (hostnetctl --cert FILE --key FILE)' };
    }
    const who = peer.certificate ? ` (subject "${peer.certificate.subject}", serial ${peer.certificate.serial})` : '';
    return {
      ok: false, code: grpc.status.UNAUTHENTICATED,
      message: `client certificate${who} not issued by the agent's client CA: ${peer.authorizationError ?? 'verification failed'}`,
    };
  }
  const sans = parseSubjectAltName(peer.certificate?.subjectaltname);
  const match = matchIdentity(sans, allowed);
  if (!match) {
    const names = sans.length ? sans.map(sanText).join(', ') : 'none';
    return {
      ok: false, code: grpc.status.PERMISSION_DENIED,
      message: `client identity not allowed: the certificate's SANs (${names}) match none of the agent's allowed clients (${allowed.map((a) => a.text).join(', ')})`,
    };
  }
  return { ok: true, identity: match.san ? sanText(match.san) : peer.certificate?.subject ?? 'unknown' };
}

function subjectOf(c: PeerCertificate): string {
  // PeerCertificate.subject is an object of RDNs (values may be arrays when repeated).
  return Object.entries(c.subject ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`).join(',');
}

/**
 * The call's TLS socket. grpc-js (1.14) tells a call only its verified peer certificate
 * (getAuthContext: {} for everything else), not why a peer is unverified; the first call of the
 * interceptor chain is the one on the transport, whose http2 stream's session has the socket.
 * If a later grpc-js hides it, the facts fall back to getAuthContext (the reason is then unknown).
 */
function tlsSocketOf(call: grpc.ServerInterceptingCallInterface): TLSSocket | null {
  const stream = (call as unknown as { stream?: ServerHttp2Stream }).stream;
  const socket = stream?.session?.socket;
  return socket instanceof TLSSocket ? socket : null;
}

export function peerFacts(call: grpc.ServerInterceptingCallInterface): PeerFacts {
  const socket = tlsSocketOf(call);
  if (socket) {
    const c = socket.getPeerCertificate();
    const certificate = c && c.raw ? { subject: subjectOf(c), serial: c.serialNumber, subjectaltname: c.subjectaltname } : null;
    const err = socket.authorizationError as unknown;
    return { authorized: socket.authorized, authorizationError: err ? String(err instanceof Error ? (err as NodeJS.ErrnoException).code ?? err.message : err) : null, certificate };
  }
  const c = call.getAuthContext().sslPeerCertificate;
  if (c) return { authorized: true, authorizationError: null, certificate: { subject: subjectOf(c), serial: c.serialNumber, subjectaltname: c.subjectaltname } };
  return { authorized: false, authorizationError: null, certificate: null };
}

/** The interceptor: refused calls end with the decision's status and are logged (warn); allowed ones at debug. */
export function clientAuthInterceptor(allowed: AllowedIdentity[], log?: ReconcileLogger): grpc.ServerInterceptor {
  return (method, call) => new grpc.ServerInterceptingCall(call, {
    start: (next) => next({
      onReceiveMetadata: (metadata, pass) => {
        const peer = peerFacts(call);
        const d = decide(peer, allowed);
        const info = call.getConnectionInfo();
        const fields = {
          method: method.path, client: `${info.remoteAddress ?? '?'}:${info.remotePort ?? '?'}`,
          subject: peer.certificate?.subject, serial: peer.certificate?.serial,
        };
        if (d.ok) {
          log?.debug({ ...fields, identity: d.identity }, 'remote call');
          pass(metadata);
          return;
        }
        log?.warn({ ...fields, code: grpc.status[d.code], reason: d.message }, 'remote call refused');
        call.sendStatus({ code: d.code, details: d.message });
      },
    }),
  });
}
