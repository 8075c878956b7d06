// The DHCPv6 server (dhcp/v6/server.ts) against ISC dhclient -6 in namespaces: a stateful lease
// from the pool that the client puts on its interface (seen with `ip -j addr`), DNS servers and
// the search list by Information-Request (dhclient -6 -S), and a server restart that keeps the
// lease (the client renews the same address with the new instance, which knew it from disk).
//
// Topology (plain `ip`, not the code under test): namespace H with bridge br6 (fd00:66::1/64)
// and veth port vh6; namespace W with the other end, eth0. DAD is off in both so link-local
// addresses are usable at once (dhclient cannot bind while its link-local is tentative).
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NetnsPool } from '../../dataplane/testing/netns.js';
import { Dhcp6Server } from '../../dhcp/v6/server.js';
import type { Dhcp6Config } from '../../dhcp/v6/types.js';

const pool = new NetnsPool('hs6-');
const BRIDGE = 'br6';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});
afterAll(() => pool.destroyAll());

const CONFIG: Dhcp6Config = {
  network: 'net6',
  prefix: 'fd00:66::/64',
  pools: [{ start: 'fd00:66::100', end: 'fd00:66::1ff' }],
  dnsServers: ['fd00:66::53', 'fd00:66::54'],
  searchDomains: ['v6.example', 'svc.v6.example'],
  // T1 = 2 s, T2 = 3 s: a renewal within the test.
  preferredLifetimeSec: 4,
  validLifetimeSec: 30,
  serverDuid: { type: 'll', hardwareType: 1, linkLayerAddress: '02:4e:00:00:06:01' },
  stateful: true,
};

async function ipn(ns: string, args: string[]): Promise<string> {
  return (await execa('ip', ['-n', ns, ...args])).stdout;
}

async function sysctl(ns: string, settings: string[]): Promise<void> {
  await execa('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...settings]);
}

async function topology(): Promise<{ H: string; W: string }> {
  const H = await pool.create({ label: 'host' });
  cleanups.push(() => pool.destroy(H));
  const W = await pool.create({ label: 'wl' });
  cleanups.push(() => pool.destroy(W));
  for (const ns of [H, W]) await sysctl(ns, ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.default.accept_ra=0']);
  await ipn(H, ['link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await ipn(H, ['addr', 'add', 'fd00:66::1/64', 'dev', BRIDGE]);
  await ipn(H, ['link', 'set', BRIDGE, 'up']);
  await ipn(H, ['link', 'add', 'vh6', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', W]);
  await ipn(H, ['link', 'set', 'vh6', 'master', BRIDGE, 'up']);
  await ipn(W, ['link', 'set', 'eth0', 'up']);
  await waitFor('link-local address on W/eth0', async () => (await addresses(W, 'eth0')).find((a) => a.startsWith('fe80:')));
  return { H, W };
}

/** Global and link-local IPv6 addresses of a device, from `ip -j addr`. */
async function addresses(ns: string, dev: string): Promise<string[]> {
  const j = JSON.parse(await ipn(ns, ['-j', '-6', 'addr', 'show', 'dev', dev])) as { addr_info: { local: string; prefixlen: number }[] }[];
  return j.flatMap((l) => l.addr_info.map((a) => a.local));
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `hntest-dhcp6-${label}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function server(H: string, leaseFile: string, config: Dhcp6Config = CONFIG): Dhcp6Server {
  const s = new Dhcp6Server({ netns: H, device: BRIDGE, config, leaseFile });
  cleanups.push(() => s.stop());
  return s;
}

interface Event6 {
  reason: string;
  env: Record<string, string>;
}

/**
 * dhclient -6 in the foreground (-d) with its own config, lease, pid file and event script in a
 * temp dir. The script records each event's environment and, like a distribution's script,
 * puts an assigned address on the interface. It never touches resolv.conf.
 */
class Dhclient6 {
  readonly output: string[] = [];
  private constructor(readonly dir: string, private proc: ResultPromise | null) {}

  static async start(ns: string, dev: string, mode: 'stateful' | 'stateless'): Promise<Dhclient6> {
    const dir = await tempDir('dhclient');
    const script = join(dir, 'script.sh');
    await writeFile(script, `#!/bin/sh
f="${dir}/ev-$(date +%s%N)"; { echo "HN_REASON=$reason"; env; } > "$f.tmp"; mv "$f.tmp" "$f.env"
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6) [ -n "$new_ip6_address" ] && /usr/sbin/ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface" valid_lft "$new_max_life" preferred_lft "$new_preferred_life" ;;
  EXPIRE6|RELEASE6|STOP6) [ -n "$old_ip6_address" ] && /usr/sbin/ip -6 addr del "$old_ip6_address/$old_ip6_prefixlen" dev "$interface" ;;
esac
exit 0
`);
    await chmod(script, 0o755);
    await writeFile(join(dir, 'dhclient.conf'), 'request dhcp6.name-servers, dhcp6.domain-search;\n');
    const argv = ['dhclient', '-6', '-d', '-1', '-v', ...(mode === 'stateless' ? ['-S'] : []), '-cf', join(dir, 'dhclient.conf'), '-sf', script,
      '-lf', join(dir, 'leases'), '-pf', join(dir, 'pid'), dev];
    const proc = execa('ip', ['netns', 'exec', ns, ...argv], { reject: false, all: true, buffer: false });
    const c = new Dhclient6(dir, proc);
    proc.all?.on('data', (d: Buffer) => {
      if (c.output.length < 2000) c.output.push(d.toString());
    });
    cleanups.push(() => c.stop());
    return c;
  }

  async events(): Promise<Event6[]> {
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.env')).sort();
    const out: Event6[] = [];
    for (const f of files) {
      const env: Record<string, string> = {};
      for (const line of (await readFile(join(this.dir, f), 'utf8')).split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) env[line.slice(0, i)] = line.slice(i + 1).replace(/^'(.*)'$/, '$1');
      }
      out.push({ reason: env['HN_REASON'] ?? '', env });
    }
    return out;
  }

  /** The n-th event with one of `reasons` (1-based). */
  async waitEvent(reasons: string[], n = 1, timeoutMs = 20_000): Promise<Event6> {
    try {
      return await waitFor(`dhclient event ${reasons.join('/')} #${n}`, async () => (await this.events()).filter((e) => reasons.includes(e.reason))[n - 1], timeoutMs);
    } catch (err) {
      const seen = (await this.events()).map((e) => e.reason).join(',');
      throw new Error(`${(err as Error).message}; events: ${seen}\n${this.output.join('').slice(-3000)}`);
    }
  }

  /** Ends the client by its pid (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.proc = null;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await p;
    clearTimeout(t);
  }
}

const inPool = (ip: string | undefined): boolean => !!ip && /^fd00:66::1[0-9a-f]{2}$/.test(ip);

describe('DHCPv6 server with dhclient -6', () => {
  it('stateful: an address from the pool, on the client\'s interface, with DNS and the search list', async () => {
    const { H, W } = await topology();
    const dir = await tempDir('srv');
    const s = server(H, join(dir, 'leases'));
    await s.start();
    const c = await Dhclient6.start(W, 'eth0', 'stateful');
    const bound = await c.waitEvent(['BOUND6']);
    const ip = bound.env['new_ip6_address'];
    expect(inPool(ip)).toBe(true);
    expect(bound.env['new_dhcp6_name_servers']?.split(' ')).toEqual(['fd00:66::53', 'fd00:66::54']);
    expect(bound.env['new_dhcp6_domain_search']?.trim().split(/\s+/)).toEqual(['v6.example.', 'svc.v6.example.']);
    expect(bound.env['new_preferred_life']).toBe('4');
    expect(bound.env['new_max_life']).toBe('30');
    expect(bound.env['new_dhcp6_server_id']).toBeDefined();
    await waitFor(`${ip} on W/eth0`, async () => ((await addresses(W, 'eth0')).includes(ip!) ? true : undefined));
    expect(s.leases()).toEqual([expect.objectContaining({ ip, state: 'bound', iaid: expect.any(Number) })]);
    const counters = s.counters;
    expect(counters.handler?.received).toMatchObject({ solicit: expect.any(Number), request: 1 });
    expect(counters.handler?.sent).toMatchObject({ advertise: expect.any(Number), reply: 1 });
    expect(counters.sent).toBeGreaterThanOrEqual(2);
    // T1 = 2 s: the client renews the same address.
    const renewed = await c.waitEvent(['RENEW6'], 1, 15_000);
    expect(renewed.env['new_ip6_address']).toBe(ip);
    expect(s.counters.handler?.received['renew']).toBeGreaterThanOrEqual(1);
  });

  it('stateless (dhclient -6 -S): DNS servers and the search list, no address', async () => {
    const { H, W } = await topology();
    const dir = await tempDir('srv');
    const s = server(H, join(dir, 'leases'), { ...CONFIG, stateful: false });
    await s.start();
    const c = await Dhclient6.start(W, 'eth0', 'stateless');
    const ev = await c.waitEvent(['BOUND6', 'RENEW6', 'REBIND6', 'REBOOT6']);
    expect(ev.env['new_dhcp6_name_servers']?.split(' ')).toEqual(['fd00:66::53', 'fd00:66::54']);
    expect(ev.env['new_dhcp6_domain_search']?.trim().split(/\s+/)).toEqual(['v6.example.', 'svc.v6.example.']);
    expect(ev.env['new_ip6_address'] ?? '').toBe('');
    expect(s.counters.handler?.received).toEqual({ 'information-request': expect.any(Number) });
    expect(s.leases()).toEqual([]);
    expect((await addresses(W, 'eth0')).filter((a) => !a.startsWith('fe80:'))).toEqual([]);
  });

  it('a server restart keeps the lease: the new instance knows it from disk and renews the same address', async () => {
    const { H, W } = await topology();
    const dir = await tempDir('srv');
    const leaseFile = join(dir, 'leases');
    const first = server(H, leaseFile);
    await first.start();
    const c = await Dhclient6.start(W, 'eth0', 'stateful');
    const ip = (await c.waitEvent(['BOUND6'])).env['new_ip6_address'];
    expect(inPool(ip)).toBe(true);
    await first.stop();
    const second = server(H, leaseFile);
    await second.start();
    // Known before the client says anything.
    expect(second.leases()).toEqual([expect.objectContaining({ ip, state: 'bound' })]);
    const renewals = (await c.events()).filter((e) => e.reason === 'RENEW6' || e.reason === 'REBIND6').length;
    const again = await c.waitEvent(['RENEW6', 'REBIND6'], renewals + 1, 20_000);
    expect(again.env['new_ip6_address']).toBe(ip);
    expect(second.counters.handler?.statuses).toEqual({});
    expect((await addresses(W, 'eth0'))).toContain(ip);
    // Another client is not given that address.
    expect(second.leases().filter((l) => l.state === 'bound').map((l) => l.ip)).toEqual([ip]);
  });
});
