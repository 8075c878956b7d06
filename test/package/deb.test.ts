// The Debian package (npm run package): built, checked by lintian, installed on this machine
// with dpkg, used from PATH (the installed agent runs in a namespace of the test's own and
// hostnetctl talks to it through the hostnet group's socket; bash completion asks it for names),
// then removed and purged. This machine is throwaway in CI, but nothing is left on it: the
// package is purged and a group the test made is deleted also when a step fails.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig } from '../../agent/config.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const NS = `hntest-pkg-${process.pid}`;
// Only Debian's directories: the commands must be the packaged ones, not a node_modules/.bin.
const PATH_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

let deb = '';
let tmp = '';
let groupExisted = true;
let agentPid: number | undefined;

async function installed(): Promise<boolean> {
  const r = await execa('dpkg-query', ['-W', '-f', '${db:Status-Status}', 'hostnet'], { reject: false });
  return r.stdout === 'installed' || r.stdout === 'config-files' || r.stdout === 'unpacked' || r.stdout === 'half-configured';
}

async function dpkg(...args: string[]): Promise<string> {
  const r = await execa('dpkg', args, { reject: false, all: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.exitCode !== 0) throw new Error(`dpkg ${args.join(' ')}: exit ${r.exitCode}: ${r.all}`);
  return r.all ?? '';
}

async function stopAgent(): Promise<void> {
  if (agentPid === undefined) return;
  try {
    process.kill(agentPid, 'SIGTERM');
  } catch {
    agentPid = undefined;
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(agentPid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  agentPid = undefined;
}

beforeAll(async () => {
  // What purge removes must not be someone else's.
  if (await installed()) throw new Error('hostnet is installed on this machine: the test installs and purges its own; purge it first');
  for (const dir of ['/var/lib/hostnet', '/etc/hostnet']) {
    if (existsSync(dir)) throw new Error(`${dir} exists without the package: purging the test's package would remove it`);
  }
  const node = await execa('dpkg-query', ['-W', '-f', '${Version}', 'nodejs'], { reject: false });
  const nodeOk = node.exitCode === 0 && (await execa('dpkg', ['--compare-versions', node.stdout, 'ge', '20.19'], { reject: false })).exitCode === 0;
  if (!nodeOk) throw new Error(`the package Depends on nodejs (>= 20.19); dpkg has ${node.stdout || 'no nodejs'} (install Debian 13's or NodeSource's nodejs)`);
  groupExisted = (await execa('getent', ['group', 'hostnet'], { reject: false })).exitCode === 0;
  tmp = await mkdtemp(path.join(tmpdir(), 'hostnet-pkg-'));
  const built = await execa('bash', ['packaging/build-deb.sh'], { cwd: REPO, all: true, reject: false });
  if (built.exitCode !== 0) throw new Error(`npm run package failed: ${built.all}`);
  deb = path.join(REPO, built.stdout.trim().split('\n').at(-1)!);
}, 300_000);

afterAll(async () => {
  await stopAgent();
  await execa('ip', ['netns', 'del', NS], { reject: false });
  if (await installed()) await execa('dpkg', ['--purge', 'hostnet'], { reject: false });
  if (!groupExisted) await execa('delgroup', ['--system', '--quiet', 'hostnet'], { reject: false });
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

describe('the Debian package', () => {
  it('is named after package.json, built for this architecture (koffi ships a native module), with the Depends Debian needs', async () => {
    const { version } = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    const arch = (await execa('dpkg', ['--print-architecture'])).stdout;
    expect(path.basename(deb)).toBe(`hostnet_${version}_${arch}.deb`);
    const field = async (f: string): Promise<string> => (await execa('dpkg-deb', ['-f', deb, f])).stdout;
    expect(await field('Architecture')).toBe(arch);
    expect(await field('Depends')).toMatch(/^nodejs \(>= 20\.19\), iproute2, adduser, libc6 \(>= [\d.]+\)/);
    expect(await field('Recommends')).toBe('nftables, frr, frr-pythontools');
    const files = (await execa('dpkg-deb', ['-c', deb])).stdout;
    expect(files).toMatch(/\.\/usr\/lib\/hostnet\/node_modules\/@koromix\/koffi-linux-[a-z0-9]+\/linux_[a-z0-9]+\/koffi\.node/);
    // The runtime only: no dev dependencies, tests, benchmarks or source maps.
    expect(files).not.toMatch(/node_modules\/(vitest|typescript|ts-proto|@bufbuild\/buf)\//);
    expect(files).not.toMatch(/\/usr\/lib\/hostnet\/dist\/(test\/|bench\/|.*\/testing\/|.*\.js\.map)/);
  });

  it('passes lintian without an error or a warning', async () => {
    const r = await execa('lintian', ['--tag-display-limit', '0', deb], { reject: false, all: true });
    if (r.failed && r.exitCode === undefined) throw new Error(`lintian cannot run (${r.shortMessage}); test/setup.sh installs it`);
    const tags = (r.all ?? '').split('\n').filter((l) => /^[EW]: /.test(l));
    expect(tags).toEqual([]);
  });

  it('installs with dpkg: files, the conffile, the group', async () => {
    await dpkg('-i', deb);
    const list = (await execa('dpkg', ['-L', 'hostnet'])).stdout.split('\n');
    expect(list).toEqual(expect.arrayContaining([
      '/usr/bin/hostnet-agent', '/usr/bin/hostnetctl', '/usr/bin/hostnet-cni', '/usr/lib/cni/hostnet-cni',
      '/lib/systemd/system/hostnet-agent.service', '/etc/hostnet/agent.yaml',
      '/usr/share/bash-completion/completions/hostnetctl', '/usr/share/doc/hostnet/copyright',
      '/usr/share/doc/hostnet/changelog.gz', '/usr/share/man/man8/hostnet-agent.8.gz', '/usr/share/man/man1/hostnetctl.1.gz',
      '/usr/lib/hostnet/dist/agent/main.js', '/usr/lib/hostnet/proto/hostnet/v1/agent.proto',
    ]));
    expect((await execa('dpkg-query', ['-W', '-f', '${Conffiles}', 'hostnet'])).stdout).toMatch(/^ \/etc\/hostnet\/agent\.yaml [0-9a-f]{32}$/);
    expect((await execa('getent', ['group', 'hostnet'])).stdout).toMatch(/^hostnet:x:\d+:/);
    expect(await readFile('/lib/systemd/system/hostnet-agent.service', 'utf8'))
      .toBe(await readFile(path.join(REPO, 'systemd/hostnet-agent.service'), 'utf8'));
  });

  it('agent.yaml lists every key the agent knows, and the file as shipped loads', async () => {
    const text = await readFile('/etc/hostnet/agent.yaml', 'utf8');
    const listed = [...text.matchAll(/^#?([a-zA-Z]+):/gm)].map((m) => m[1]);
    const probe = path.join(tmp, 'probe.yaml');
    await writeFile(probe, 'noSuchKey: 1\n');
    let known: string[] = [];
    try {
      loadAgentConfig(['--config', probe]);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      known = /\(known: ([^)]*)\)/.exec((err as Error).message)![1]!.split(', ');
    }
    expect(known.length).toBeGreaterThan(10);
    expect([...new Set(listed)].sort()).toEqual([...known].sort());
    expect(loadAgentConfig(['--config', '/etc/hostnet/agent.yaml']).socketGroup).toBe('hostnet');
  });

  it('hostnet-agent --help and hostnetctl --help run from PATH, and every flag they print is in the README', async () => {
    const readme = await readFile(path.join(REPO, 'README.md'), 'utf8');
    for (const cmd of ['hostnet-agent', 'hostnetctl']) {
      const r = await execa(cmd, ['--help'], { env: PATH_ENV, extendEnv: false });
      expect(r.stdout).toMatch(new RegExp(`^usage: ${cmd} `));
      for (const flag of new Set(r.stdout.match(/--[a-z][a-z-]+/g))) expect(readme, `${cmd} ${flag} in README.md`).toContain(flag);
    }
    const cni = await execa('/usr/lib/cni/hostnet-cni', [], { env: { ...PATH_ENV, CNI_COMMAND: 'VERSION' }, extendEnv: false, input: '' });
    expect(JSON.parse(cni.stdout)).toMatchObject({ supportedVersions: expect.arrayContaining(['1.1.0']) });
  });

  it('the installed agent serves its socket to the hostnet group; hostnetctl and bash completion use it', async () => {
    await execa('ip', ['netns', 'add', NS]);
    const socket = path.join(tmp, 'agent.sock');
    const log = path.join(tmp, 'agent.log');
    // The shipped agent.yaml (socketGroup: hostnet); FRR is not wanted here.
    const agent = execa('hostnet-agent', ['--netns', NS, '--socket', socket, '--state-dir', path.join(tmp, 'state'), '--frr-supervise', 'false'],
      { env: PATH_ENV, extendEnv: false, stdout: { file: log }, stderr: { file: log }, reject: false });
    agentPid = agent.pid;
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = existsSync(log) && (await readFile(log, 'utf8')).includes('converged after start');
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    expect(up, `agent log: ${await readFile(log, 'utf8').catch(() => '')}`).toBe(true);
    const gid = Number((await execa('getent', ['group', 'hostnet'])).stdout.split(':')[2]);
    const st = await stat(socket);
    expect({ mode: (st.mode & 0o777).toString(8), gid: st.gid }).toEqual({ mode: '660', gid });

    const state = path.join(tmp, 'state.yaml');
    await writeFile(state, 'networks:\n  - { name: pkgnet, ipFamily: IPV4, cidr: 10.99.7.0/24, gateway: 10.99.7.1, gatewayOnBridge: true }\n');
    await execa('hostnetctl', ['--socket', socket, 'apply', '-f', state, '--wait', '--timeout', '30'], { env: PATH_ENV, extendEnv: false });
    expect((await execa('hostnetctl', ['--socket', socket, 'get', 'networks'], { env: PATH_ENV, extendEnv: false })).stdout).toMatch(/^pkgnet\s/m);

    // Completion as bash runs it: COMP_WORDS up to the cursor, then COMPREPLY.
    const complete = async (...words: string[]): Promise<string[]> => {
      const script = `source /usr/share/bash-completion/completions/hostnetctl
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_hostnetctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await execa('bash', ['-c', script], { env: PATH_ENV, extendEnv: false })).stdout.split('\n').filter(Boolean);
    };
    expect(await complete('hostnetctl', '')).toEqual(['get', 'describe', 'apply', 'watch']);
    expect(await complete('hostnetctl', 'get', '')).toEqual(['networks', 'attachments', 'securitygroups', 'leases', 'ips', 'node']);
    expect(await complete('hostnetctl', 'describe', 'n')).toEqual(['network']);
    expect(await complete('hostnetctl', '--socket', socket, 'describe', 'network', '')).toEqual(['pkgnet']);
    // No agent there: no names, and no error either.
    expect(await complete('hostnetctl', '--socket', path.join(tmp, 'none.sock'), 'describe', 'network', '')).toEqual([]);

    await execa('hostnetctl', ['--socket', socket, 'apply', '-f', '-'], { env: PATH_ENV, extendEnv: false, input: 'networks: []\n' });
    await stopAgent();
    await execa('ip', ['netns', 'del', NS]);
  }, 120_000);

  it('dpkg -r removes the commands and the unit, keeps the state and the conffile; dpkg -P removes both', async () => {
    // What a running agent would have left (systemd's StateDirectory=).
    await execa('install', ['-d', '-m', '700', '/var/lib/hostnet']);
    await writeFile('/var/lib/hostnet/desired-state.json', '{}\n');
    await dpkg('-r', 'hostnet');
    for (const gone of ['/usr/bin/hostnet-agent', '/usr/bin/hostnetctl', '/usr/lib/cni/hostnet-cni', '/lib/systemd/system/hostnet-agent.service', '/usr/lib/hostnet']) {
      expect(existsSync(gone), gone).toBe(false);
    }
    expect(existsSync('/var/lib/hostnet/desired-state.json')).toBe(true);
    expect(existsSync('/etc/hostnet/agent.yaml')).toBe(true);
    await dpkg('-P', 'hostnet');
    expect(existsSync('/var/lib/hostnet')).toBe(false);
    expect(existsSync('/etc/hostnet')).toBe(false);
    expect(await installed()).toBe(false);
    // Kept, as Debian does with system groups (afterAll deletes it when the test made it).
    expect((await execa('getent', ['group', 'hostnet'], { reject: false })).exitCode).toBe(0);
  }, 120_000);
});
