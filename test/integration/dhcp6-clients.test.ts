// The DHCPv6 server (dhcp/v6/server.ts) against ISC dhclient -6 in namespaces: a stateful lease
// from the pool that the client puts on its interface (seen with `ip -j addr`), DNS servers and
// the search list by Information-Request (dhclient -6 -S), and a server restart that keeps the
// lease (the client renews the same address with the new instance, which knew it from disk).
//
// Topology (plain `ip`, not the code under test): namespace H with bridge br6 (fd00:66::1/64)
// and veth port vh6; namespace W with the other end, eth0. DAD is off in both so link-local
// addresses are usable at once (dhclient cannot bind while its link-local is tentative).
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NetnsPool } from '../../dataplane/testing/netns.js';
import { Dhcp6Server } from '../../dhcp/v6/server.js';
import type { Dhcp6Config } from '../../dhcp/v6/types.js';
import { readClientEvents, recordEventLine, type ClientEvent } from '../lib/client-events.js';
import { Dhclient6 } from '../lib/dhclient6.js';
import { waitFor as waitForValue } from '../lib/wait-for.js';

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

async function topology(ifname = 'eth0', mac?: string): Promise<{ H: string; W: string }> {
  const H = await pool.create({ label: 'host' });
  cleanups.push(() => pool.destroy(H));
  const W = await pool.create({ label: 'wl' });
  cleanups.push(() => pool.destroy(W));
  for (const ns of [H, W]) await sysctl(ns, ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.default.accept_ra=0']);
  await ipn(H, ['link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await ipn(H, ['addr', 'add', 'fd00:66::1/64', 'dev', BRIDGE]);
  await ipn(H, ['link', 'set', BRIDGE, 'up']);
  await ipn(H, ['link', 'add', 'vh6', 'type', 'veth', 'peer', 'name', ifname, ...(mac ? ['address', mac] : []), 'netns', W]);
  await ipn(H, ['link', 'set', 'vh6', 'master', BRIDGE, 'up']);
  await ipn(W, ['link', 'set', ifname, 'up']);
  await waitFor(`link-local address on W/${ifname}`, async () => (await addresses(W, ifname)).find((a) => a.startsWith('fe80:')));
  return { H, W };
}

/** Global and link-local IPv6 addresses of a device, from `ip -j addr`. */
async function addresses(ns: string, dev: string): Promise<string[]> {
  const j = JSON.parse(await ipn(ns, ['-j', '-6', 'addr', 'show', 'dev', dev])) as { addr_info: { local: string; prefixlen: number }[] }[];
  return j.flatMap((l) => l.addr_info.map((a) => a.local));
}

/** test/lib/wait-for.ts, 20 s unless told. */
const waitFor = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> => waitForValue(what, fn, timeoutMs);

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

type Event6 = ClientEvent;

/** What a client's event script recorded in `dir`, one env file per event, and its output. */
class ClientEvents {
  readonly output: string[] = [];
  constructor(readonly dir: string) {}

  events(): Promise<Event6[]> {
    return readClientEvents(this.dir);
  }

  /** The n-th event with one of `reasons` (1-based). */
  async waitEvent(reasons: string[], n = 1, timeoutMs = 20_000): Promise<Event6> {
    try {
      return await waitFor(`client event ${reasons.join('/')} #${n}`, async () => (await this.events()).filter((e) => reasons.includes(e.reason))[n - 1], timeoutMs);
    } catch (err) {
      const seen = (await this.events()).map((e) => e.reason).join(',');
      throw new Error(`${(err as Error).message}; events: ${seen}\n${this.output.join('').slice(-3000)}`);
    }
  }

  /** Collects a client process's output (bounded) for failure messages. */
  capture(proc: ResultPromise): void {
    proc.all?.on('data', (d: Buffer) => {
      if (this.output.length < 2000) this.output.push(d.toString());
    });
  }
}

/** dhclient -6 (test/lib/dhclient6.ts: its own files, configures what it gets), removed after the test. */
async function startDhclient6(ns: string, dev: string, mode: 'stateful' | 'stateless'): Promise<Dhclient6> {
  const c = await Dhclient6.create(ns, dev);
  cleanups.push(() => c.remove());
  c.start(mode);
  return c;
}

const inPool = (ip: string | undefined): boolean => !!ip && /^fd00:66::1[0-9a-f]{2}$/.test(ip);

describe('DHCPv6 server with dhclient -6', () => {
  it('stateful: an address from the pool, on the client\'s interface, with DNS and the search list', async () => {
    const { H, W } = await topology();
    const dir = await tempDir('srv');
    const s = server(H, join(dir, 'leases'));
    await s.start();
    const c = await startDhclient6(W, 'eth0', 'stateful');
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
    const c = await startDhclient6(W, 'eth0', 'stateless');
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
    const c = await startDhclient6(W, 'eth0', 'stateful');
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

  it('reservation by MAC: the MAC inside dhclient\'s DUID-LLT gets its reserved address', async () => {
    const mac = '02:4e:00:00:66:42';
    const { H, W } = await topology('eth0', mac);
    const dir = await tempDir('srv');
    const s = server(H, join(dir, 'leases'), { ...CONFIG, reservations: [{ mac, ip: 'fd00:66::42' }] });
    await s.start();
    const c = await startDhclient6(W, 'eth0', 'stateful');
    expect((await c.waitEvent(['BOUND6'])).env['new_ip6_address']).toBe('fd00:66::42');
    expect(s.leases()).toEqual([expect.objectContaining({ ip: 'fd00:66::42', mac })]);
    await waitFor('fd00:66::42 on W/eth0', async () => ((await addresses(W, 'eth0')).includes('fd00:66::42') ? true : undefined));
  });

  it('drops and counts what it does not answer: garbage, relay messages, a Request for another server', async () => {
    const { H, W } = await topology();
    const dir = await tempDir('srv');
    const s = server(H, join(dir, 'leases'));
    await s.start();
    // Client id (DUID-LL), server id of another server, an empty IA_NA.
    const request = '03000001' + '0001000a00030001024e00000007' + '0002000a00030001024e00000099' + '0003000c000000010000000000000000';
    const py = `
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')
s.bind(('::', 546))
dst = ('ff02::1:2', 547, 0, socket.if_nametoindex('eth0'))
for data in [b'\\x01\\x00', bytes.fromhex('0c00' + '00' * 32), bytes.fromhex('${request}')]:
    s.sendto(data, dst)
    time.sleep(0.05)
`;
    await execa('ip', ['netns', 'exec', W, '/usr/bin/python3', '-c', py]);
    const c = await waitFor('three messages counted', () => (s.counters.received >= 3 ? s.counters : undefined), 5000);
    expect(c.decodeErrors).toBe(2);
    expect(c.decodeReasons).toEqual({ 'truncated': 1, 'relay-not-supported': 1 });
    expect(c.ignored).toBe(1);
    expect(c.handler?.dropped).toEqual({ 'other-server': 1 });
    expect(c.sent).toBe(0);
  });

  it('dhcpcd -6: an address from the pool on its interface, DNS and the search list', async () => {
    const ifname = 'hs6dc0';
    const { H, W } = await topology(ifname);
    const dir = await tempDir('srv');
    const s = server(H, join(dir, 'leases'));
    await s.start();
    const cdir = await tempDir('dhcpcd');
    const script = join(cdir, 'script.sh');
    await writeFile(script, `#!/bin/sh\n${recordEventLine(cdir)}\nexit 0\n`);
    await chmod(script, 0o755);
    await writeFile(join(cdir, 'dhcpcd.conf'), `noipv6rs\nnohook resolv.conf, hostname, ntp.conf, timesyncd.conf\noption dhcp6_name_servers, dhcp6_domain_search\nscript ${script}\ninterface ${ifname}\n  ia_na 1\n`);
    const c = new ClientEvents(cdir);
    const proc = execa('ip', ['netns', 'exec', W, 'dhcpcd', '-6', '-B', '-d', '-f', join(cdir, 'dhcpcd.conf'), ifname], { reject: false, all: true, buffer: false });
    c.capture(proc);
    cleanups.push(async () => {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await proc;
      clearTimeout(t);
      await rm(`/var/lib/dhcpcd/${ifname}.lease6`, { force: true });
    });
    const ev = await c.waitEvent(['BOUND6']);
    const ip = ev.env['new_dhcp6_ia_na1_ia_addr1'];
    expect(inPool(ip)).toBe(true);
    expect(ev.env['new_dhcp6_name_servers']?.split(' ')).toEqual(['fd00:66::53', 'fd00:66::54']);
    expect(ev.env['new_dhcp6_domain_search']?.split(' ')).toEqual(['v6.example', 'svc.v6.example']);
    await waitFor(`${ip} on W/${ifname}`, async () => ((await addresses(W, ifname)).includes(ip!) ? true : undefined));
    expect(s.leases()).toEqual([expect.objectContaining({ ip, state: 'bound' })]);
  });

  it('dhclient -6 -r: the Release frees the lease and the client takes the address off', async () => {
    const { H, W } = await topology();
    const dir = await tempDir('srv');
    const s = server(H, join(dir, 'leases'));
    await s.start();
    const c = await startDhclient6(W, 'eth0', 'stateful');
    const ip = (await c.waitEvent(['BOUND6'])).env['new_ip6_address']!;
    await waitFor(`${ip} on W/eth0`, async () => ((await addresses(W, 'eth0')).includes(ip) ? true : undefined));
    await c.release();
    expect(s.leases()).toEqual([expect.objectContaining({ ip, state: 'released' })]);
    expect(s.counters.handler?.received['release']).toBe(1);
    expect(await addresses(W, 'eth0')).not.toContain(ip);
  });

  it('two bridges in one namespace, two servers on port 547: each client is answered by its own bridge\'s server', async () => {
    const { H, W } = await topology();
    const W2 = await pool.create({ label: 'wl2' });
    cleanups.push(() => pool.destroy(W2));
    await sysctl(W2, ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.default.accept_ra=0']);
    await ipn(H, ['link', 'add', 'br6b', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await ipn(H, ['addr', 'add', 'fd00:67::1/64', 'dev', 'br6b']);
    await ipn(H, ['link', 'set', 'br6b', 'up']);
    await ipn(H, ['link', 'add', 'vh6b', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', W2]);
    await ipn(H, ['link', 'set', 'vh6b', 'master', 'br6b', 'up']);
    await ipn(W2, ['link', 'set', 'eth0', 'up']);
    await waitFor('link-local address on W2/eth0', async () => (await addresses(W2, 'eth0')).find((x) => x.startsWith('fe80:')));
    const dir = await tempDir('srv');
    const a = server(H, join(dir, 'a'));
    const b = new Dhcp6Server({
      netns: H, device: 'br6b', leaseFile: join(dir, 'b'),
      config: { ...CONFIG, network: 'net6b', prefix: 'fd00:67::/64', pools: [{ start: 'fd00:67::100', end: 'fd00:67::1ff' }],
        serverDuid: { type: 'll', hardwareType: 1, linkLayerAddress: '02:4e:00:00:06:02' } },
    });
    cleanups.push(() => b.stop());
    await a.start();
    await b.start();
    const ca = await startDhclient6(W, 'eth0', 'stateful');
    const cb = await startDhclient6(W2, 'eth0', 'stateful');
    expect((await ca.waitEvent(['BOUND6'])).env['new_ip6_address']).toBe('fd00:66::100');
    expect((await cb.waitEvent(['BOUND6'])).env['new_ip6_address']).toBe('fd00:67::100');
    expect(a.leases().map((l) => l.ip)).toEqual(['fd00:66::100']);
    expect(b.leases().map((l) => l.ip)).toEqual(['fd00:67::100']);
  });
});
