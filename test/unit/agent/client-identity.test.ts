// The remote control plane's client check without TLS: SAN parsing (Node's subjectaltname
// text), allowed identities, matching, and the decision (status and message) for each kind of
// client; hostnetctl's words for TLS failures.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  canonicalIp, matchIdentity, parseAllowedIdentity, parseSubjectAltName, type San,
} from '../../../agent/server/client-identity.js';
import { decide, type PeerFacts } from '../../../agent/server/tls-auth.js';
import { parseServer, tlsCause } from '../../../agent/cli/remote.js';

const allow = (...texts: string[]) => texts.map(parseAllowedIdentity);
const matches = (sans: San[], ...allowed: string[]): boolean => matchIdentity(sans, allow(...allowed)) !== null;

describe('parseSubjectAltName', () => {
  it('reads DNS, URI and IP names and skips other kinds', () => {
    expect(parseSubjectAltName('DNS:ctl.lab, URI:spiffe://lab/ctl, IP Address:10.0.0.5, email:a@b.example, IP Address:0:0:0:0:0:0:0:1')).toEqual([
      { kind: 'DNS', value: 'ctl.lab' },
      { kind: 'URI', value: 'spiffe://lab/ctl' },
      { kind: 'IP', value: '10.0.0.5' },
      { kind: 'IP', value: '0:0:0:0:0:0:0:1' },
    ]);
  });

  it('unquotes values Node quotes (separators inside a value cannot forge a second SAN)', () => {
    expect(parseSubjectAltName('URI:"spiffe://lab/a, DNS:ctl.lab", DNS:x.lab')).toEqual([
      { kind: 'URI', value: 'spiffe://lab/a, DNS:ctl.lab' },
      { kind: 'DNS', value: 'x.lab' },
    ]);
  });

  it('no SANs: nothing', () => {
    expect(parseSubjectAltName(undefined)).toEqual([]);
    expect(parseSubjectAltName('')).toEqual([]);
  });
});

describe('allowed identities', () => {
  it('parses kinds, case-insensitively, and canonical IPs', () => {
    expect(parseAllowedIdentity('dns:ctl.lab')).toMatchObject({ kind: 'DNS', value: 'ctl.lab' });
    expect(parseAllowedIdentity('IP:::1')).toMatchObject({ kind: 'IP', value: '::1' });
    expect(parseAllowedIdentity('IP Address:10.0.0.5')).toMatchObject({ kind: 'IP', value: '10.0.0.5' });
    expect(parseAllowedIdentity('spiffe://lab/ctl')).toMatchObject({ kind: null, value: 'spiffe://lab/ctl' });
  });

  it('refuses what can never match, naming the entry', () => {
    expect(() => parseAllowedIdentity('IP:ctl.lab')).toThrow(/"IP:ctl.lab": "ctl.lab" is not an IP address/);
    expect(() => parseAllowedIdentity('DNS:')).toThrow(/empty identity/);
    expect(() => parseAllowedIdentity('DNS:ctl.*.lab')).toThrow(/leading "\*\."/);
  });

  it('canonical IPv6 spelling', () => {
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('FD00:0:0::5')).toBe('fd00::5');
    expect(canonicalIp('ctl.lab')).toBeNull();
  });
});

describe('matchIdentity', () => {
  const sans: San[] = [{ kind: 'DNS', value: 'Ctl.Lab' }, { kind: 'URI', value: 'spiffe://lab/ctl' }, { kind: 'IP', value: '0:0:0:0:0:0:0:1' }];

  it('DNS names case-insensitively, URIs exactly, IPs by address', () => {
    expect(matches(sans, 'DNS:ctl.lab')).toBe(true);
    expect(matches(sans, 'URI:spiffe://lab/ctl')).toBe(true);
    expect(matches(sans, 'URI:spiffe://lab/CTL')).toBe(false);
    expect(matches(sans, 'IP:::1')).toBe(true);
    expect(matches(sans, 'IP:::2')).toBe(false);
  });

  it('a kind-qualified identity matches only that kind; a bare one any', () => {
    expect(matches(sans, 'URI:ctl.lab')).toBe(false);
    expect(matches(sans, 'IP:10.0.0.1')).toBe(false);
    expect(matches(sans, 'ctl.lab')).toBe(true);
    expect(matches(sans, 'spiffe://lab/ctl')).toBe(true);
    expect(matches(sans, '::1')).toBe(true);
  });

  it('a leading *. matches exactly one label', () => {
    expect(matches([{ kind: 'DNS', value: 'a.ctl.lab' }], 'DNS:*.ctl.lab')).toBe(true);
    expect(matches([{ kind: 'DNS', value: 'a.b.ctl.lab' }], 'DNS:*.ctl.lab')).toBe(false);
    expect(matches([{ kind: 'DNS', value: 'ctl.lab' }], 'DNS:*.ctl.lab')).toBe(false);
    // The certificate's own wildcard is no identity.
    expect(matches([{ kind: 'DNS', value: '*.ctl.lab' }], 'DNS:*.ctl.lab')).toBe(false);
    expect(matches([{ kind: 'DNS', value: '*.ctl.lab' }], 'DNS:a.ctl.lab')).toBe(false);
  });

  it('an empty allow list lets every certificate of the CA in; a list nothing matches refuses', () => {
    expect(matchIdentity([], [])).not.toBeNull();
    expect(matchIdentity([], allow('DNS:ctl.lab'))).toBeNull();
    expect(matchIdentity(sans, allow('DNS:other.lab', 'URI:spiffe://lab/ctl'))?.allowed?.text).toBe('URI:spiffe://lab/ctl');
  });
});

describe('decide', () => {
  const cert = (subjectaltname: string | undefined) => ({ subject: 'CN=ctl', serial: '0A1B', subjectaltname });
  const peer = (p: Partial<PeerFacts>): PeerFacts => ({ authorized: false, authorizationError: null, certificate: null, ...p });

  it('no client certificate: UNAUTHENTICATED, saying one is required', () => {
    const d = decide(peer({ authorizationError: 'UNABLE_TO_GET_ISSUER_CERT' }), []);
    expect(d).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(!d.ok && d.message).toMatch(/client certificate required/);
  });

  it('a certificate of another CA: UNAUTHENTICATED, naming it and OpenSSL\'s reason', () => {
    const d = decide(peer({ authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', certificate: cert('DNS:ctl.lab') }), allow('DNS:ctl.lab'));
    expect(d).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(!d.ok && d.message).toBe('client certificate (subject "CN=ctl", serial 0A1B) not issued by the agent\'s client CA: UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a verified certificate with no allowed SAN: PERMISSION_DENIED, listing both sides', () => {
    const d = decide(peer({ authorized: true, certificate: cert('DNS:other.lab, IP Address:10.0.0.9') }), allow('DNS:ctl.lab', 'URI:spiffe://lab/ctl'));
    expect(d).toMatchObject({ ok: false, code: grpc.status.PERMISSION_DENIED });
    expect(!d.ok && d.message).toBe('client identity not allowed: the certificate\'s SANs (DNS:other.lab, IP:10.0.0.9) match none of the agent\'s allowed clients (DNS:ctl.lab, URI:spiffe://lab/ctl)');
    const none = decide(peer({ authorized: true, certificate: cert(undefined) }), allow('DNS:ctl.lab'));
    expect(!none.ok && none.message).toMatch(/SANs \(none\)/);
  });

  it('a verified, allowed certificate: ok, with the SAN that matched', () => {
    expect(decide(peer({ authorized: true, certificate: cert('DNS:other.lab, URI:spiffe://lab/ctl') }), allow('URI:spiffe://lab/ctl')))
      .toEqual({ ok: true, identity: 'URI:spiffe://lab/ctl' });
    expect(decide(peer({ authorized: true, certificate: cert(undefined) }), [])).toEqual({ ok: true, identity: 'CN=ctl' });
  });
});

describe('hostnetctl --server', () => {
  it('parses HOST:PORT', () => {
    expect(parseServer('10.0.0.5:7443')).toEqual({ host: '10.0.0.5', port: 7443 });
    expect(parseServer('[fd00::5]:7443')).toEqual({ host: 'fd00::5', port: 7443 });
    expect(parseServer('node1.lab:7443')).toEqual({ host: 'node1.lab', port: 7443 });
    expect(parseServer('10.0.0.5')).toBeNull();
    expect(parseServer('10.0.0.5:0')).toBeNull();
  });

  it('says what a TLS failure means, keeping the original text', () => {
    expect(tlsCause('No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: '))
      .toBe('TLS handshake failed: the server\'s certificate is not issued by the CA given with --ca (self-signed certificate in certificate chain)');
    expect(tlsCause('No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate\'s altnames: Host: x. Resolution note: '))
      .toMatch(/^TLS handshake failed: the server's certificate does not name the host connected to \(--server-name NAME checks another name\) \(Hostname/);
    expect(tlsCause('No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: '))
      .toBe('nothing listens there (connection refused): is the agent started with --listen? (connect ECONNREFUSED 127.0.0.1:1)');
    expect(tlsCause('something else')).toBe('something else');
  });
});
