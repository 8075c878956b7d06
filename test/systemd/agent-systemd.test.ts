// hostnet-agent under a real systemd (PID 1 of the VM fixture's guest: test/systemd/run.sh),
// installed and run as the README's "Install on a node" says: `apt install ./hostnet_*.deb`,
// `systemctl enable --now hostnet-agent`, `hostnetctl get networks` from PATH; then
// systemctl status/restart/stop, the watchdog, a DHCP lease through the unit's sandbox, an
// upgrade over the running agent (dpkg -i), systemd-analyze security, and `apt remove` (stops
// the running agent, leaves the network) and `apt purge` (state and configuration gone).
// The guest's dpkg database is this machine's, unpacked from run.sh's tar onto a tmpfs (dpkg
// reads it much faster there than over 9p).
// The test's drop-in shortens WatchdogSec (30 s -> 10 s) and TimeoutAbortSec (a SIGSTOPped
// agent ignores the watchdog's SIGABRT until SIGKILL) so the hang test takes ~15 s, not ~50.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const UNIT = 'hostnet-agent.service';
const POD = 'hntest-sd-pod'; // a workload namespace inside the guest
const BRIDGE_NET = 'sdnet';
const HOST_VETH = 'hv-sdpod';
const WANTS = `/etc/systemd/system/multi-user.target.wants/${UNIT}`;
// Only Debian's directories: the commands must be the packaged ones.
const DEBIAN_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

const run = (cmd: string, args: string[], timeout = 60_000): string =>
  execFileSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
const sh = (script: string): string => run('sh', ['-c', script], 120_000);
const systemctl = (...args: string[]): string => run('systemctl', args, 120_000);
/** A command as an admin types it (Debian's PATH only), its time logged for the README. */
function admin(script: string, timeout = 300_000): string {
  const t0 = Date.now();
  const out = execFileSync('sh', ['-c', script], {
    encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: DEBIAN_PATH },
  });
  console.log(`TIMING ${script}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}
const packageStatus = (): string =>
  execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Status}', 'hostnet'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const notInstalled = (): boolean => { try { return packageStatus() === 'not-installed'; } catch { return true; } };
/** Whether PATH is there at all (existsSync follows a symlink: a dangling one would be "absent"). */
const present = (p: string): boolean => { try { lstatSync(p); return true; } catch { return false; } };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `systemctl show -p` of the agent's unit as a record. */
function show(...props: string[]): Record<string, string> {
  const out = systemctl('show', UNIT, ...props.map((p) => `-p${p}`));
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** A realtime timestamp property in ms since the epoch, to the microsecond (no D-Bus in the guest: systemctl). */
function msOf(prop: string): number {
  const out = systemctl('show', UNIT, `-p${prop}`, '--timestamp=us+utc'); // "X=Thu 2026-11-30 19:51:02.123456 UTC"
  const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{6}) UTC/.exec(out);
  if (!m) throw new Error(`systemctl show -p${prop}: no timestamp in ${JSON.stringify(out)}`);
  return Date.parse(`${m[1]}T${m[2]}Z`) + Number(m[3]) / 1000;
}

async function until<T>(what: string, fn: () => T | undefined | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** The agent's own JSON log lines (pino) from the journal, with the time each was made. */
function agentLog(pid: string): Array<{ msg: string; time: number }> {
  return run('journalctl', ['-u', UNIT, `_PID=${pid}`, '-o', 'cat', '--no-pager']).split('\n')
    .filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; time: number });
}

function ifindexes(): { bridge: number; veth: number } {
  const links = JSON.parse(run('ip', ['-j', '-d', 'link', 'show'])) as Array<{ ifindex: number; ifname: string; linkinfo?: { info_kind?: string } }>;
  const bridges = links.filter((l) => l.linkinfo?.info_kind === 'bridge');
  const veth = links.find((l) => l.ifname === HOST_VETH);
  if (bridges.length !== 1 || !veth) throw new Error(`expected one bridge and ${HOST_VETH}: ${links.map((l) => l.ifname).join(' ')}`);
  return { bridge: bridges[0]!.ifindex, veth: veth.ifindex };
}

const STATE = `generation: 1
networks:
  - name: ${BRIDGE_NET}
    mtu: 1500
    ipFamily: IPV4
    cidr: 192.168.77.0/24
    gateway: 192.168.77.1
    gatewayOnBridge: true
    dhcp: { enabled: true, pools: [{ start: 192.168.77.50, end: 192.168.77.99 }], leaseSeconds: 600 }
attachments:
  - { name: pod-net1, network: ${BRIDGE_NET}, veth: { ifName: ${HOST_VETH}, peerNetns: /var/run/netns/${POD}, peerIfName: net1 }, mac: "02:00:00:77:00:10" }
`;

describe.skipIf(process.env['HOSTNET_IN_VM'] !== '1' || !process.env['HOSTNET_DEB'])('hostnet-agent under real systemd', () => {
  beforeAll(() => {
    // The guest boots with systemd as PID 1 (run.sh --systemd): wait for the boot to end.
    expect(run('cat', ['/proc/1/comm']).trim()).toBe('systemd');
    try { systemctl('is-system-running', '--wait'); } catch { /* "degraded" exits 1: fine here */ }
    // dpkg's database (this machine's: the guest's root is the host's) on a tmpfs, from one tar.
    const t0 = Date.now();
    sh(`mount -t tmpfs -o mode=755 tmpfs /var/lib/dpkg && tar -xf '${process.env['HOSTNET_DPKG_TAR']}' -C /var/lib/dpkg`);
    console.log(`TIMING dpkg database unpacked onto a tmpfs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (!notInstalled()) throw new Error(`hostnet is ${packageStatus()} in this machine's dpkg database: the suite installs its own (purge it on the host first)`);
    // What the CI container has and a node has not, removed in the guest's overlay only:
    // Docker's policy-rc.d (exit 101: maintainer scripts may not start or stop services, so
    // remove would not stop the agent); Docker's apt setting that disables apt's package
    // cache (every apt command would parse the package lists again: ~13 s under TCG); and
    // man-db's auto-update flag (its trigger re-indexes every man page over 9p: ~2 min under
    // TCG per install or remove, only the whatis index is left stale).
    sh('rm -f /usr/sbin/policy-rc.d /etc/apt/apt.conf.d/docker-clean /var/lib/man-db/auto-update');
    run('ip', ['netns', 'add', POD]);
  });
  afterAll(() => {
    try { systemctl('stop', UNIT); } catch { /* the guest goes away anyway */ }
    try { run('ip', ['netns', 'del', POD]); } catch { /* idem */ }
  });

  it('apt install ./hostnet_*.deb installs the package; the agent is neither enabled nor started', () => {
    const deb = process.env['HOSTNET_DEB']!;
    admin(`cd '${path.dirname(deb)}' && apt install ./hostnet_*.deb`);
    expect(packageStatus()).toBe('installed');
    expect(run('dpkg', ['-S', '/usr/bin/hostnetctl'])).toMatch(/^hostnet: /);
    expect(run('getent', ['group', 'hostnet'])).toMatch(/^hostnet:x:\d+:/);
    expect(show('LoadState', 'ActiveState', 'UnitFileState')).toEqual({ LoadState: 'loaded', ActiveState: 'inactive', UnitFileState: 'disabled' });
    // The test's drop-in (see the top), before the first start.
    mkdirSync(`/etc/systemd/system/${UNIT}.d`, { recursive: true });
    writeFileSync(`/etc/systemd/system/${UNIT}.d/test.conf`, '[Service]\nWatchdogSec=10s\nTimeoutAbortSec=2s\n');
    systemctl('daemon-reload');
  });

  it('systemctl enable --now: enabled (the wants symlink), activating until the agent sent READY=1 after its first pass', async () => {
    // --no-block: watch the state while it starts (node and the first pass take seconds under TCG).
    admin('systemctl enable --now --no-block hostnet-agent');
    const seen = new Set<string>();
    await until('active', () => { const s = show('ActiveState').ActiveState!; seen.add(s); return s === 'active'; });
    expect(seen).toContain('activating');
    expect(admin('systemctl is-enabled hostnet-agent').trim()).toBe('enabled');
    expect(admin('systemctl is-active hostnet-agent').trim()).toBe('active');
    expect(readlinkSync(WANTS)).toBe(`/lib/systemd/system/${UNIT}`);
    const { MainPID } = show('MainPID');
    const converged = agentLog(MainPID!).find((l) => l.msg === 'converged after start');
    expect(converged, 'the agent logged its first pass').toBeDefined();
    const started = msOf('ActiveEnterTimestamp'), spawned = msOf('InactiveExitTimestamp');
    expect(spawned).toBeLessThan(converged!.time);
    expect(converged!.time).toBeLessThanOrEqual(started); // active only after the first pass (READY=1)
    console.log(`start: spawned -> first pass ${Math.round(converged!.time - spawned)} ms, -> active ${Math.round(started - spawned)} ms`);
  });

  it('hostnetctl get networks from PATH: the header and no network yet', () => {
    expect(admin('command -v hostnetctl').trim()).toBe('/usr/bin/hostnetctl');
    expect(admin('hostnetctl get networks').split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^NAME\s+BRIDGE\s+CIDR\s+UPLINK\s+READY\s+AGE$/)]);
  });

  it('systemctl status shows the STATUS= line; it follows an applied state', async () => {
    expect(systemctl('status', '--no-pager', UNIT)).toMatch(/Status: "reconciled generation 0: 0 networks, 0 attachments, 0 problems"/);
    writeFileSync('/root/state.yaml', STATE);
    run('hostnetctl', ['apply', '-f', '/root/state.yaml']);
    const line = await until('STATUS of generation 1', () => {
      const m = /Status: "(reconciled generation 1: 1 network, 1 attachment, 0 problems)"/.exec(systemctl('status', '--no-pager', UNIT));
      return m?.[1];
    });
    console.log(`systemctl status: Status: "${line}"`);
  });

  it('serves DHCP from inside the unit\'s sandbox (no AF_PACKET): udhcpc in the workload gets a lease', () => {
    // udhcpc reports on stderr; -s /bin/true: the agent already put the address, keep it.
    const out = sh(`ip netns exec ${POD} busybox udhcpc -i net1 -n -q -t 5 -T 2 -s /bin/true 2>&1`);
    expect(out).toMatch(/lease of 192\.168\.77\.\d+ obtained/);
    expect(run('hostnetctl', ['get', 'leases'])).toContain('02:00:00:77:00:10');
  });

  it('systemctl restart keeps every device (same ifindex)', async () => {
    const before = ifindexes();
    const pid = show('MainPID').MainPID;
    systemctl('restart', UNIT);
    expect(show('ActiveState').ActiveState).toBe('active');
    expect(show('MainPID').MainPID).not.toBe(pid);
    expect(ifindexes()).toEqual(before);
  });

  it('the watchdog restarts an agent that hangs (SIGSTOP), devices kept', async () => {
    const before = ifindexes();
    const { MainPID: pid, NRestarts: restarts } = show('MainPID', 'NRestarts');
    run('kill', ['-STOP', pid!]);
    await until('a new main process, active', () => {
      const s = show('MainPID', 'ActiveState');
      return s.MainPID !== pid && s.MainPID !== '0' && s.ActiveState === 'active';
    }, 60_000);
    expect(Number(show('NRestarts').NRestarts)).toBe(Number(restarts) + 1);
    expect(run('journalctl', ['-u', UNIT, '--no-pager', '-o', 'cat'])).toMatch(/Watchdog timeout/);
    expect(ifindexes()).toEqual(before);
  });

  it('an upgrade (dpkg -i of the package over the running agent) restarts the agent, devices kept', async () => {
    const before = ifindexes();
    const { MainPID: pid } = show('MainPID');
    admin(`dpkg -i '${process.env['HOSTNET_DEB']}'`);
    // postinst's try-restart: a new main process, active again (READY=1) with the same devices.
    await until('a new main process, active', () => {
      const s = show('MainPID', 'ActiveState');
      return s.MainPID !== pid && s.MainPID !== '0' && s.ActiveState === 'active';
    });
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(ifindexes()).toEqual(before);
    expect(admin('hostnetctl get networks')).toMatch(new RegExp(`^${BRIDGE_NET}\\s`, 'm'));
  });

  it('systemctl stop leaves the network in place', () => {
    const before = ifindexes();
    systemctl('stop', UNIT);
    expect(show('ActiveState').ActiveState).toBe('inactive');
    expect(ifindexes()).toEqual(before);
    expect(run('ip', ['netns', 'exec', POD, 'ip', '-br', 'link', 'show', 'net1'])).toMatch(/^net1@/);
  });

  it('systemd-analyze security scores the unit', () => {
    // Exit status 0 whatever the score (no --threshold).
    const out = run('systemd-analyze', ['security', '--no-pager', UNIT]);
    const overall = /Overall exposure level for hostnet-agent\.service: ([\d.]+) (\S+)/.exec(out);
    expect(overall).not.toBeNull();
    console.log(out.split('\n').filter((l) => /^✗|Overall/.test(l.trim())).join('\n'));
    console.log(`SYSTEMD-ANALYZE-SECURITY: ${overall![1]} ${overall![2]}`);
  });

  it('apt remove stops the running agent, leaves the network, keeps state and configuration', () => {
    systemctl('start', UNIT); // stopped by the test before
    const { MainPID: pid } = show('MainPID');
    expect(pid).not.toBe('0');
    const before = ifindexes();
    const clean = (): number => run('journalctl', ['-u', UNIT, '--no-pager', '-o', 'cat']).split('\n').filter((l) => /Deactivated successfully/.test(l)).length;
    const cleanBefore = clean();
    admin('apt remove -y hostnet'); // -y: the admin's "yes" to apt's question
    expect(packageStatus()).toBe('config-files');
    // prerm stopped it (a clean stop, not the agent dying under its deleted files).
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(clean()).toBe(cleanBefore + 1);
    expect(show('ActiveState').ActiveState).toBe('inactive');
    for (const gone of ['/usr/bin/hostnetctl', '/usr/bin/hostnet-agent', `/lib/systemd/system/${UNIT}`, '/usr/lib/hostnet']) expect(present(gone), gone).toBe(false);
    expect(existsSync('/var/lib/hostnet/desired-state.json')).toBe(true);
    expect(existsSync('/etc/hostnet/agent.yaml')).toBe(true);
    expect(ifindexes()).toEqual(before);
    expect(run('ip', ['netns', 'exec', POD, 'ip', '-br', 'link', 'show', 'net1'])).toMatch(/^net1@/);
  });

  it('apt purge removes /var/lib/hostnet, /etc/hostnet and the enable symlink; the network stays', () => {
    const before = ifindexes();
    admin('apt purge -y hostnet');
    expect(notInstalled()).toBe(true);
    for (const gone of ['/var/lib/hostnet', '/etc/hostnet', WANTS]) expect(present(gone), gone).toBe(false);
    expect(ifindexes()).toEqual(before);
  });
});
