// ISC dhclient -6 in a workload namespace for end-to-end tests: foreground (-d), one try (-1),
// verbose, with its own config, lease file, pid file and event script in a temp dir, so a test
// reads what the client itself understood (the event environment, its lease file, its output).
// The script records each event; with `configure` it also puts an assigned address on the
// interface the way a distribution's script does. It never touches resolv.conf. Stopped by pid.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { readClientEvents, recordEventLine, type ClientEvent } from './client-events.js';

export type Dhclient6Event = ClientEvent;

export const BOUND6 = ['BOUND6', 'RENEW6', 'REBIND6', 'REBOOT6'];

export class Dhclient6 {
  private proc: ResultPromise | null = null;
  readonly output: string[] = [];

  private constructor(readonly netns: string, readonly dev: string, readonly dir: string) {}

  /** A client with fresh files (a new DUID-LLT from the interface's MAC). */
  static async create(netns: string, dev: string, opts: { configure?: boolean } = {}): Promise<Dhclient6> {
    const dir = await mkdtemp(join(tmpdir(), 'hntest-h6e-dhclient-'));
    const configure = opts.configure ?? true;
    await writeFile(join(dir, 'script.sh'), `#!/bin/sh
${recordEventLine(dir)}
${configure ? `case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6) [ -n "$new_ip6_address" ] && /usr/sbin/ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface" valid_lft "$new_max_life" preferred_lft "$new_preferred_life" ;;
  EXPIRE6|RELEASE6|STOP6) [ -n "$old_ip6_address" ] && /usr/sbin/ip -6 addr del "$old_ip6_address/$old_ip6_prefixlen" dev "$interface" ;;
esac` : ''}
exit 0
`);
    await chmod(join(dir, 'script.sh'), 0o755);
    await writeFile(join(dir, 'dhclient.conf'), 'request dhcp6.name-servers, dhcp6.domain-search;\n');
    return new Dhclient6(netns, dev, dir);
  }

  /** Starts (or starts again, with the same DUID and lease file) `dhclient -6 [-S] -d -1 -v`. */
  start(mode: 'stateful' | 'stateless' = 'stateful'): void {
    if (this.proc) throw new Error(`dhclient -6 in ${this.netns}: already running`);
    const argv = ['dhclient', '-6', '-d', '-1', '-v', ...(mode === 'stateless' ? ['-S'] : []), ...this.files(), this.dev];
    const p = execa('ip', ['netns', 'exec', this.netns, ...argv], { reject: false, all: true, buffer: false });
    p.all?.on('data', (b: Buffer) => {
      if (this.output.length < 2000) this.output.push(b.toString());
    });
    this.proc = p;
  }

  /** The client's own files: config, event script, lease file, pid file. */
  private files(): string[] {
    const d = this.dir;
    return ['-cf', join(d, 'dhclient.conf'), '-sf', join(d, 'script.sh'), '-lf', join(d, 'leases'), '-pf', join(d, 'pid')];
  }

  events(): Promise<Dhclient6Event[]> {
    return readClientEvents(this.dir);
  }

  /** The n-th event with one of `reasons` (1-based); the failure names what was seen. */
  async waitEvent(reasons: string[], n = 1, timeoutMs = 20_000): Promise<Dhclient6Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const evs = await this.events();
      const ev = evs.filter((e) => reasons.includes(e.reason))[n - 1];
      if (ev) return ev;
      if (Date.now() > deadline) {
        throw new Error(`dhclient -6 in ${this.netns}: no ${reasons.join('/')} #${n} after ${timeoutMs} ms; events: ${evs.map((e) => e.reason).join(',')}\n${this.output.join('').slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The client's lease file ('' before it wrote one). */
  async leaseFile(): Promise<string> {
    return readFile(join(this.dir, 'leases'), 'utf8').catch(() => '');
  }

  /** The IA_NA addresses in the client's lease file (`iaaddr X {`). */
  async leasedAddresses(): Promise<string[]> {
    return [...(await this.leaseFile()).matchAll(/iaaddr ([0-9a-f:]+) \{/g)].map((m) => m[1]!);
  }

  /** Ends the client by its pid (SIGTERM, then SIGKILL): no Release is sent. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.proc = null;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await p;
    clearTimeout(t);
  }

  /** Stops the client, then sends a Release the client's own way (dhclient -6 -r with the same files). */
  async release(): Promise<void> {
    await this.stop();
    await execa('ip', ['netns', 'exec', this.netns, 'dhclient', '-6', '-r', '-v', ...this.files(), this.dev], { timeout: 15_000 });
  }

  async remove(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
