// Who a remote control plane client is: the subject alternative names (DNS, URI, IP) of its
// verified certificate, matched against the identities the agent lets in (--tls-allow-client).
// Pure: no TLS here, so the matching is unit-tested on its own.
import { isIP } from 'node:net';

export type SanKind = 'DNS' | 'URI' | 'IP';

export interface San {
  kind: SanKind;
  value: string;
}

/** One allowed identity: of one SAN kind ("DNS:ctl.example"), or of any kind when written bare. */
export interface AllowedIdentity {
  kind: SanKind | null;
  value: string;
  /** As the admin wrote it (for logs and messages). */
  text: string;
}

const KIND_OF_PREFIX: Record<string, SanKind> = { dns: 'DNS', uri: 'URI', ip: 'IP', 'ip address': 'IP' };

/** "10.0.0.1", "::1", "0:0:0:0:0:0:0:1" -> one spelling per address; null if not an IP address. */
export function canonicalIp(text: string): string | null {
  const v = isIP(text);
  if (v === 4) return text;
  // The URL parser writes IPv6 addresses in their RFC 5952 form (Node prints SANs uncompressed).
  if (v === 6) return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  return null;
}

/**
 * Node's `subjectaltname` text ("DNS:a.example, URI:spiffe://x/y, IP Address:10.0.0.1") -> the
 * DNS, URI and IP names; other kinds (email, othername, directory names) are skipped. Values
 * with separators in them come JSON-quoted (Node >= 17.3), and are unquoted here.
 */
export function parseSubjectAltName(text: string | undefined): San[] {
  const out: San[] = [];
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const name = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote, skipping escaped characters.
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        value = text.slice(colon + 2, j);
      }
      next = text.indexOf(', ', j + 1);
    } else {
      next = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    const kind = KIND_OF_PREFIX[name.toLowerCase()];
    if (kind) out.push({ kind, value });
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

/**
 * "DNS:ctl.example", "URI:spiffe://cluster/ctl", "IP:10.0.0.5" (also "IP Address:"), or a bare
 * value that matches a SAN of any kind. A DNS pattern may start with "*." (exactly one label).
 * Throws with the entry in the message when it cannot match anything.
 */
export function parseAllowedIdentity(text: string): AllowedIdentity {
  const m = /^(dns|uri|ip|ip address):(.*)$/i.exec(text.trim());
  const kind = m ? KIND_OF_PREFIX[m[1]!.toLowerCase()]! : null;
  const value = (m ? m[2]! : text).trim();
  if (!value) throw new Error(`allowed client "${text}": empty identity (expected e.g. DNS:ctl.example, URI:spiffe://domain/ctl or IP:10.0.0.5)`);
  if (kind === 'IP') {
    const ip = canonicalIp(value);
    if (!ip) throw new Error(`allowed client "${text}": "${value}" is not an IP address`);
    return { kind, value: ip, text };
  }
  if (kind === 'DNS' && value.includes('*') && !/^\*\.[^*]+$/.test(value)) {
    throw new Error(`allowed client "${text}": a DNS wildcard may only be a leading "*." (e.g. DNS:*.ctl.example)`);
  }
  return { kind, value, text };
}

function dnsMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const n = name.toLowerCase().replace(/\.$/, '');
  if (p.startsWith('*.')) {
    const dot = n.indexOf('.');
    // One label, never empty, never "*" itself: a certificate's own wildcard is no identity.
    return dot > 0 && !n.slice(0, dot).includes('*') && n.slice(dot + 1) === p.slice(2);
  }
  return p === n;
}

function sanMatches(allowed: AllowedIdentity, san: San): boolean {
  if (allowed.kind !== null && allowed.kind !== san.kind) return false;
  if (san.kind === 'DNS') return dnsMatches(allowed.value, san.value);
  if (san.kind === 'IP') return canonicalIp(allowed.value) === canonicalIp(san.value);
  // URIs are compared exactly (spiffe IDs and the like are case-sensitive in their path).
  return allowed.value === san.value;
}

/** The first (allowed identity, SAN) pair that matches, or null. An empty allow list lets every SAN in. */
export function matchIdentity(sans: San[], allowed: AllowedIdentity[]): { allowed: AllowedIdentity | null; san: San | null } | null {
  if (allowed.length === 0) return { allowed: null, san: sans[0] ?? null };
  for (const a of allowed) {
    for (const s of sans) if (sanMatches(a, s)) return { allowed: a, san: s };
  }
  return null;
}

export const sanText = (s: San): string => `${s.kind}:${s.value}`;
