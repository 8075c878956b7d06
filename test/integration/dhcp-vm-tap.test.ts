// One real VM on a TAP attachment gets its lease from hostnet's DHCP server: a namespace with a
// bridge (the server's address on it) and a persistent TAP on the bridge; serve-main (compiled:
// `npm run build` first) serves the bridge; the VM fixture (test/vm/run.sh, run inside the
// namespace so QEMU opens the TAP there) boots with a virtio NIC on the TAP, and busybox udhcpc
// in the guest asks for a lease. Checked twice: what the guest's client says it got (its own
// output) and what the server's lease file says (the MAC bound to the reserved address).
// One boot is 5 to 10 s under TCG (more right after prepare.sh rebuilt the initrd): one test.
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkDhcpConfig } from '../../dhcp/types.js';
import { createDhcpLan } from '../lib/dhcp-net.js';
import { PROJECT_ROOT, ServeMain } from '../lib/dhcp-serve.js';
import { createTestNetns, destroyTestNetns } from '../lib/netns.js';

const RUN_SH = join(PROJECT_ROOT, 'test/vm/run.sh');
const PREPARE_SH = join(PROJECT_ROOT, 'test/vm/prepare.sh');
const VM_MAC = '52:54:00:12:34:56';
const TAP = 'tapvm0';

const config: NetworkDhcpConfig = {
  network: 'vm-tap',
  cidr: '10.63.0.0/24',
  serverAddress: '10.63.0.1',
  gateway: '10.63.0.1',
  pools: [{ start: '10.63.0.100', end: '10.63.0.199' }],
  dnsServers: ['10.63.0.53', '10.63.0.54'],
  domainName: 'vm.example',
  leaseSeconds: 600,
  reservations: [{ mac: VM_MAC, ip: '10.63.0.42' }],
};

// udhcpc's event hook in the guest: prints what the client understood, one "udhcpc-EVENT
// NAME=VALUE" line per variable, and installs a bound address (so the guest can ping).
const HOOK = `#!/bin/sh
for v in interface ip subnet mask router dns domain serverid lease; do
  eval "val=\\\${$v:-}"
  echo "udhcpc-$1 $v=$val"
done
case $1 in
  bound|renew) ip addr add "$ip/\${mask:-24}" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
`;

/** Everything the test made; torn down in afterEach, also when it fails. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** The lease file read directly: lines "<crc32> <lease JSON>", the last record per IP wins. */
async function leaseFileRecords(path: string): Promise<Record<string, unknown>[]> {
  const byIp = new Map<string, Record<string, unknown>>();
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const rec = JSON.parse(line.slice(sp + 1)) as Record<string, unknown>;
    byIp.set(String(rec['ip']), rec);
  }
  return [...byIp.values()];
}

const secs = (t0: number): string => ((performance.now() - t0) / 1000).toFixed(1);

// Not inside the guest itself (no nested TCG), and only where run.sh can run: root.
describe.skipIf(process.env['HOSTNET_IN_VM'] !== undefined || process.getuid?.() !== 0)('DHCP to a VM on a TAP attachment', () => {
  let prepareSeconds = '';
  beforeAll(() => {
    // Outside any namespace: the first time it downloads the kernel, later it costs ~0 s
    // (or a few seconds to rebuild the initrd when prepare.sh, init.sh or the modules changed).
    const t0 = performance.now();
    const r = spawnSync('bash', [PREPARE_SH], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`prepare.sh failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
    prepareSeconds = secs(t0);
  }, 620_000);

  it('the guest\'s udhcpc gets the reserved lease from serve-main over the TAP', async () => {
    const ns = await createTestNetns('vmtap');
    cleanups.push(() => destroyTestNetns(ns));
    await createDhcpLan(ns, 'br0', '10.63.0.1/24');
    // A persistent TAP (it outlives QEMU's open) on the bridge, as an attachment has it.
    await execa('ip', ['-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
    await execa('ip', ['-n', ns, 'link', 'set', TAP, 'master', 'br0', 'up']);

    const dir = await mkdtemp(join(tmpdir(), 'hntest-vmtap-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const hook = join(dir, 'udhcpc-hook.sh');
    await writeFile(hook, HOOK);
    await chmod(hook, 0o755);
    const leaseFile = join(dir, 'leases');
    const server = await ServeMain.start({ netns: ns, device: 'br0', config, dir, leaseFile });
    cleanups.push(() => server.stop()); // SIGTERM to its own pid, SIGKILL after 15 s

    const guest = [
      'set -e',
      'ip link set eth0 up',
      `busybox udhcpc -i eth0 -n -q -t 10 -T 2 -s ${hook}`,
      'echo "guest-addr $(ip -4 -o addr show dev eth0)"',
      'ping -c 1 -W 5 10.63.0.1 >/dev/null && echo guest-ping-ok',
    ].join('\n');
    const t0 = performance.now();
    // run.sh kills its QEMU (by pid) at --timeout; execa's timeout (SIGTERM: run.sh's trap
    // kills QEMU too) is only the backstop.
    const vm = await execa('ip', ['netns', 'exec', ns, 'bash', RUN_SH, '--timeout', '300', '--cwd', PROJECT_ROOT,
      '--share', dir, '--tap', `${TAP}=${VM_MAC}`, '--', 'sh', '-c', guest],
    { reject: false, all: true, stdin: 'ignore', timeout: 330_000 });
    const vmSeconds = secs(t0);
    const out = vm.all ?? '';
    console.log(`dhcp-vm-tap: prepare.sh ${prepareSeconds} s, VM boot + DHCP + poweroff ${vmSeconds} s`);
    expect(vm.exitCode, `run.sh output:\n${out}`).toBe(0);

    // What the guest's client understood (its own output).
    const bound = new Map<string, string>();
    for (const m of out.matchAll(/^udhcpc-bound (\w+)=(.*?)\r?$/gm)) bound.set(m[1] ?? '', m[2] ?? '');
    expect(Object.fromEntries(bound), out).toEqual({
      interface: 'eth0',
      ip: '10.63.0.42',
      subnet: '255.255.255.0',
      mask: '24',
      router: '10.63.0.1',
      dns: '10.63.0.53 10.63.0.54',
      domain: 'vm.example',
      serverid: '10.63.0.1',
      lease: '600',
    });
    expect(out).toMatch(/^guest-addr \d+: eth0 +inet 10\.63\.0\.42\/24 /m);
    expect(out).toMatch(/^guest-ping-ok\r?$/m);

    // The independent witness: the server's lease file has that MAC bound to that address.
    const records = await leaseFileRecords(leaseFile);
    expect(records).toEqual([expect.objectContaining({ network: 'vm-tap', ip: '10.63.0.42', mac: VM_MAC, state: 'bound' })]);
    expect(await server.stop()).toBe(0);
  }, 420_000);
});
