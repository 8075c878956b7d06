// What the installed `ip` can do that older iproute2 releases cannot.
import { spawnSync } from 'node:child_process';

let addressProtocols: boolean | undefined;

/**
 * `ip address add ... proto N` (iproute2 >= 6.3; Debian 12's 6.1 neither sends nor prints
 * IFA_PROTO). Probed once from `ip address help`, synchronously: an await in addAddress would
 * split callers of one event-loop turn across `ip -batch` processes.
 */
export function ipHasAddressProtocols(): boolean {
  if (addressProtocols === undefined) {
    const r = spawnSync('ip', ['address', 'help'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    addressProtocols = /proto ADDRPROTO/.test(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  return addressProtocols;
}
