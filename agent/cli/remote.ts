// hostnetctl --server HOST:PORT: how a remote agent is named in messages, and what a failed
// TLS connection means in words an admin can act on (grpc-js reports them all as UNAVAILABLE
// with OpenSSL's or Node's text in the details).

const SUFFIX = ' over mTLS';

/** The name of a TCP agent in messages; explain() tells it from a socket path by it. */
export const remoteName = (server: string): string => `${server}${SUFFIX}`;

export const isRemote = (where: string): boolean => where.endsWith(SUFFIX);

/** HOST:PORT or [V6]:PORT -> parts; null when it is neither. */
export function parseServer(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

const CAUSES: { test: RegExp; says: string }[] = [
  { test: /ECONNREFUSED/, says: 'nothing listens there (connection refused): is the agent started with --listen?' },
  { test: /ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/, says: 'no route or no answer from the host' },
  { test: /ENOTFOUND|EAI_AGAIN/, says: 'the host name does not resolve' },
  {
    test: /self[- ]signed certificate|unable to (get local issuer|verify the first) certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE|certificate signature failure/i,
    says: 'TLS handshake failed: the server\'s certificate is not issued by the CA given with --ca',
  },
  {
    test: /does not match certificate's altnames|ERR_TLS_CERT_ALTNAME_INVALID/i,
    says: 'TLS handshake failed: the server\'s certificate does not name the host connected to (--server-name NAME checks another name)',
  },
  { test: /certificate has expired|CERT_HAS_EXPIRED/i, says: 'TLS handshake failed: the server\'s certificate has expired' },
  { test: /certificate is not yet valid|CERT_NOT_YET_VALID/i, says: 'TLS handshake failed: the server\'s certificate is not valid yet (clock skew?)' },
  {
    test: /alert (bad certificate|unknown ca|certificate required|certificate unknown|handshake failure|access denied)/i,
    says: 'TLS handshake failed: the server refused this client\'s certificate',
  },
  { test: /wrong version number|packet length too long|http_request|unexpected eof|Protocol error/i, says: 'TLS handshake failed: the server does not speak TLS there' },
];

/** grpc-js's details of an UNAVAILABLE -> the cause in words, followed by the original text. */
export function tlsCause(details: string): string {
  // grpc-js wraps the socket's error: "No connection established. Last error: Error: X. Resolution note: "
  const text = details.replace(/^No connection established\. Last error: (?:Error(?: \[[A-Z_]+\])?: )?/, '').replace(/\.? ?Resolution note: *$/, '');
  const hit = CAUSES.find((c) => c.test.test(details));
  return hit ? `${hit.says} (${text})` : text;
}
