// The CNI spec versions hostnet-cni speaks, and the VERSION command's answer.
import { CNI_ERR, CniError } from './errors.js';

export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
/** What errors and VERSION carry when the request named no version we know. */
export const LATEST_VERSION = '1.1.0';

/** [major, minor, patch], or undefined when `v` is not x.y.z. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** a >= b; both must be x.y.z. */
export function versionAtLeast(a: string, b: string): boolean {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return false;
  for (let i = 0; i < 3; i++) if (x[i]! !== y[i]!) return x[i]! > y[i]!;
  return true;
}

/** Error 1 unless we speak `v`. */
export function requireSupported(v: string): void {
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `incompatible CNI version ${v || '(none given)'}`,
      `hostnet-cni supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
}

/** VERSION: the versions we support, whatever the runtime asked with. */
export function versionResult(): Record<string, unknown> {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
