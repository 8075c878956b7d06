// Real DHCP clients (busybox udhcpc, ISC dhclient, dhcpcd) run in a client namespace, each
// with a script that records its environment per event, so a test reads what the client itself
// understood of the server's reply. Everything they write lives in a temp dir; stop() ends the
// client by pid and removes it.
import { mkdtemp, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

export type ClientKind = 'udhcpc' | 'dhclient' | 'dhcpcd';

/** What the client understood, normalised across clients. */
export interface ClientLease {
  event: string;
  ip: string;
  prefix: number;
  routers: string[];
  dns: string[];
  domain?: string;
  search: string[];
  mtu?: number;
  /** Option 121 as the client decoded it. */
  routes: { destination: string; via: string }[];
  leaseSeconds?: number;
  serverId?: string;
}

export interface ClientEvent {
  event: string;
  env: Record<string, string>;
}

const BOUND_EVENTS = new Set(['bound', 'renew', 'BOUND', 'RENEW', 'REBIND', 'REBOOT']);

function maskToPrefix(mask: string): number {
  if (/^\d+$/.test(mask)) return Number(mask);
  return mask.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0);
}

const words = (s: string | undefined): string[] => (s ?? '').trim().split(/\s+/).filter(Boolean);
const noDot = (d: string): string => d.replace(/\.$/, '');

/** "10.1.0.0/16 10.61.0.254 0.0.0.0/0 10.61.0.1" -> pairs. */
function cidrPairs(s: string | undefined): { destination: string; via: string }[] {
  const w = words(s);
  const out: { destination: string; via: string }[] = [];
  for (let i = 0; i + 1 < w.length; i += 2) out.push({ destination: w[i]!, via: w[i + 1]! });
  return out;
}

/** dhclient hands option 121 over as raw octets: "16 10 1 10 61 0 254 0 10 61 0 1". */
function rfc3442Octets(s: string | undefined): { destination: string; via: string }[] {
  const o = words(s?.replace(/,/g, ' ')).map(Number);
  const out: { destination: string; via: string }[] = [];
  let i = 0;
  while (i < o.length) {
    const width = o[i++]!;
    const n = Math.ceil(width / 8);
    const dest = [0, 0, 0, 0];
    for (let k = 0; k < n; k++) dest[k] = o[i++]!;
    const via = o.slice(i, i + 4).join('.');
    i += 4;
    out.push({ destination: `${dest.join('.')}/${width}`, via });
  }
  return out;
}

export function normalise(kind: ClientKind, ev: ClientEvent): ClientLease {
  const e = ev.env;
  if (kind === 'udhcpc') {
    return {
      event: ev.event, ip: e['ip'] ?? '', prefix: Number(e['mask']), routers: words(e['router']), dns: words(e['dns']),
      domain: e['domain'], search: words(e['search']).map(noDot), mtu: e['mtu'] ? Number(e['mtu']) : undefined,
      routes: cidrPairs(e['staticroutes']), leaseSeconds: e['lease'] ? Number(e['lease']) : undefined, serverId: e['serverid'],
    };
  }
  const routes = kind === 'dhclient' ? rfc3442Octets(e['new_rfc3442_classless_static_routes']) : cidrPairs(e['new_classless_static_routes']);
  return {
    event: ev.event, ip: e['new_ip_address'] ?? '',
    prefix: e['new_subnet_cidr'] ? Number(e['new_subnet_cidr']) : maskToPrefix(e['new_subnet_mask'] ?? '0'),
    routers: words(e['new_routers']), dns: words(e['new_domain_name_servers']), domain: e['new_domain_name'],
    search: words(e['new_domain_search']).map(noDot), mtu: e['new_interface_mtu'] ? Number(e['new_interface_mtu']) : undefined,
    routes, leaseSeconds: e['new_dhcp_lease_time'] ? Number(e['new_dhcp_lease_time']) : undefined,
    serverId: e['new_dhcp_server_identifier'],
  };
}

/**
 * The event script: records the environment, and (udhcpc, dhclient) configures the address
 * the way a distribution script would, so renewals can be unicast from it.
 */
function eventScript(kind: ClientKind, dir: string): string {
  const record = `f="${dir}/ev-$(date +%s%N)"; { echo "HN_EVENT=${kind === 'udhcpc' ? '$1' : '$reason'}"; env; } > "$f.tmp"; mv "$f.tmp" "$f.env"`;
  if (kind === 'udhcpc') {
    return `#!/bin/sh\n${record}\ncase "$1" in bound|renew) /usr/sbin/ip addr replace "$ip/$mask" dev "$interface" ;; deconfig) /usr/sbin/ip addr flush dev "$interface" ;; esac\nexit 0\n`;
  }
  if (kind === 'dhclient') {
    return `#!/bin/sh\n${record}\ncase "$reason" in BOUND|RENEW|REBIND|REBOOT) /usr/sbin/ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;; EXPIRE|FAIL|RELEASE|STOP) /usr/sbin/ip addr flush dev "$interface" ;; esac\nexit 0\n`;
  }
  return `#!/bin/sh\n${record}\nexit 0\n`;
}

const DHCLIENT_CONF = `option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, domain-search, interface-mtu, rfc3442-classless-static-routes;
`;
const DHCPCD_CONF = `noarp
noipv4ll
nohook resolv.conf, hostname, ntp.conf, timesyncd.conf
option subnet_mask, routers, domain_name_servers, domain_name, domain_search, interface_mtu, classless_static_routes
`;

export class DhcpClientRun {
  private constructor(
    readonly kind: ClientKind,
    readonly netns: string,
    readonly ifname: string,
    readonly dir: string,
    private proc: ResultPromise | null,
    readonly output: string[],
  ) {}

  /** Starts the client; it keeps running (renews) until release() or stop(). */
  static async start(kind: ClientKind, netns: string, ifname: string, extra: string[] = []): Promise<DhcpClientRun> {
    const dir = await mkdtemp(join(tmpdir(), `hntest-dhcp-${kind}-`));
    const script = join(dir, 'script.sh');
    await writeFile(script, eventScript(kind, dir));
    await chmod(script, 0o755);
    let argv: string[];
    if (kind === 'udhcpc') {
      argv = ['busybox', 'udhcpc', '-f', '-R', '-i', ifname, '-t', '10', '-T', '1', '-O', 'staticroutes', '-O', 'search', '-O', 'mtu', '-s', script, ...extra];
    } else if (kind === 'dhclient') {
      await writeFile(join(dir, 'dhclient.conf'), DHCLIENT_CONF);
      argv = ['dhclient', '-4', '-d', '-1', '-v', '-cf', join(dir, 'dhclient.conf'), '-sf', script, '-lf', join(dir, 'leases'), '-pf', join(dir, 'pid'), ...extra, ifname];
    } else {
      await writeFile(join(dir, 'dhcpcd.conf'), `${DHCPCD_CONF}script ${script}\n`);
      argv = ['dhcpcd', '-4', '-B', '-d', '-f', join(dir, 'dhcpcd.conf'), ...extra, ifname];
    }
    const output: string[] = [];
    const proc = execa('ip', ['netns', 'exec', netns, ...argv], { reject: false, all: true, buffer: false });
    proc.all?.on('data', (d: Buffer) => {
      if (output.length < 2000) output.push(d.toString());
    });
    return new DhcpClientRun(kind, netns, ifname, dir, proc, output);
  }

  async events(): Promise<ClientEvent[]> {
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.env')).sort();
    const out: ClientEvent[] = [];
    for (const f of files) {
      const env: Record<string, string> = {};
      for (const line of (await readFile(join(this.dir, f), 'utf8')).split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) env[line.slice(0, i)] = line.slice(i + 1).replace(/^'(.*)'$/, '$1');
      }
      out.push({ event: env['HN_EVENT'] ?? '', env });
    }
    return out;
  }

  /** Waits for the n-th bound-like event (1: the first lease, 2: its first renewal...). */
  async waitLease(n = 1, timeoutMs = 20_000): Promise<ClientLease> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const bound = (await this.events()).filter((e) => BOUND_EVENTS.has(e.event));
      const ev = bound[n - 1];
      if (ev) return normalise(this.kind, ev);
      if (Date.now() > deadline) {
        throw new Error(`${this.kind} in ${this.netns}: no lease event #${n} after ${timeoutMs} ms; events: ${(await this.events()).map((e) => e.event).join(',')}\n${this.output.join('').slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Signals the client process (udhcpc: SIGUSR1 renews now). */
  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** Sends RELEASE the client's own way and waits for it to exit. */
  async release(): Promise<void> {
    if (this.kind === 'udhcpc') {
      this.proc?.kill('SIGTERM'); // -R: release on exit
    } else if (this.kind === 'dhclient') {
      this.proc?.kill('SIGTERM');
      await this.proc;
      this.proc = null;
      await execa('ip', ['netns', 'exec', this.netns, 'dhclient', '-4', '-r', '-cf', join(this.dir, 'dhclient.conf'), '-sf', join(this.dir, 'script.sh'),
        '-lf', join(this.dir, 'leases'), '-pf', join(this.dir, 'pid'), this.ifname], { timeout: 10_000 });
    } else {
      await execa('ip', ['netns', 'exec', this.netns, 'dhcpcd', '-4', '-k', '-f', join(this.dir, 'dhcpcd.conf'), this.ifname], { reject: false, timeout: 10_000 });
    }
    await this.waitExit();
  }

  private async waitExit(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await p;
    clearTimeout(t);
    this.proc = null;
  }

  /** Ends the client (by its pid) without releasing, and removes its files. */
  async stop(): Promise<void> {
    if (this.proc) {
      this.proc.kill('SIGKILL');
      await this.proc;
      this.proc = null;
    }
    if (this.kind === 'dhcpcd') {
      // dhcpcd keeps its lease by interface name outside our temp dir.
      await rm(`/var/lib/dhcpcd/${this.ifname}.lease`, { force: true });
      await rm(`/var/lib/dhcpcd/${this.ifname}.lease6`, { force: true });
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
