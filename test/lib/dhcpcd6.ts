// dhcpcd -6 in a workload namespace for the IPv6 e2e tests, run in the foreground (-B) with a
// configuration and an event script of its own in `dir` (never the system's hooks: no
// resolv.conf, hostname or NTP changes). Each event the script sees is written to a file
// (reason and environment), so a test reads what the client itself was told.
import { chmod, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { eventually } from './agent-state.js';
import { recordEventLine } from './client-events.js';

export interface Dhcpcd6Run {
  /** The client process; the test ends it by its pid. */
  proc: ResultPromise;
  /** The first event file (in name order) whose text matches `match`; fails with the client's output. */
  waitEnv(what: string, match: RegExp, timeoutMs?: number): Promise<string>;
}

export async function startDhcpcd6(netns: string, ifname: string, parent: string, opts: {
  /** Off: no router solicitations (noipv6rs). */
  solicitRouters: boolean;
  /** Ask for one address (ia_na 1); without it only for options. */
  iaNa: boolean;
}): Promise<Dhcpcd6Run> {
  const cdir = await mkdtemp(path.join(parent, 'dhcpcd-'));
  const script = path.join(cdir, 'script.sh');
  await writeFile(script, `#!/bin/sh\n${recordEventLine(cdir)}\nexit 0\n`);
  await chmod(script, 0o755);
  await writeFile(path.join(cdir, 'dhcpcd.conf'), `${opts.solicitRouters ? '' : 'noipv6rs\n'}nohook resolv.conf, hostname, ntp.conf, timesyncd.conf\noption dhcp6_name_servers, dhcp6_domain_search\nscript ${script}\ninterface ${ifname}\n${opts.iaNa ? '  ia_na 1\n' : ''}`);
  const out: string[] = [];
  const proc = execa('ip', ['netns', 'exec', netns, 'dhcpcd', '-6', '-B', '-d', '-f', path.join(cdir, 'dhcpcd.conf'), ifname], { reject: false, all: true, buffer: false });
  proc.all?.on('data', (b: Buffer) => { if (out.length < 2000) out.push(b.toString()); });
  return {
    proc,
    waitEnv: (what, match, timeoutMs = 20_000) => eventually(what, async () => {
      for (const f of (await readdir(cdir)).filter((x) => x.endsWith('.env')).sort()) {
        const text = await readFile(path.join(cdir, f), 'utf8');
        if (match.test(text)) return text;
      }
      return undefined;
    }, timeoutMs).catch((err: Error) => { throw new Error(`${err.message}\n${out.join('').slice(-3000)}`); }),
  };
}
