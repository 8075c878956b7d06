// The Vagrantfile cannot boot here (no boxes, no nested KVM): checked as text instead. It must
// provision every machine with the one package script, and bring up the lab's topology on VMs
// as agent/testing/lab builds it in namespaces: hosts h1..h3 at the lab's addresses, each
// running hostnet-agent with the lab's --listen port and TLS flags and the control plane's
// identity. `ruby -c` checks its syntax where Ruby is installed.
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentArgs, AGENT_PORT, CTL_IDENTITY, hostAddress, topology } from '../../agent/testing/lab/topology.js';

const FILE = path.resolve(import.meta.dirname, '../../Vagrantfile');
const text = readFileSync(FILE, 'utf8');
/** The Ruby without its comments, so that a flag only mentioned in a comment does not count. */
const code = text.split('\n').filter((l) => !/^\s*#(?!!)/.test(l)).join('\n');
const constant = (name: string): string | undefined => new RegExp(`^${name} = (.+)$`, 'm').exec(code)?.[1]?.trim();

describe('Vagrantfile (static)', () => {
  it('provisions every machine with test/vm/provision.sh, the one package script', () => {
    expect(code).toMatch(/^ {2}config\.vm\.provision "shell", path: "test\/vm\/provision\.sh"$/m);
    expect(existsSync(path.resolve(import.meta.dirname, '../../test/vm/provision.sh'))).toBe(true);
    expect(readFileSync(path.resolve(import.meta.dirname, '../../test/vm/provision.sh'), 'utf8')).toMatch(/\bfrr\b/);
  });

  it('defines lab hosts h1..hN (3 by default, as npm run lab) at the lab\'s underlay addresses', () => {
    expect(constant('LAB_HOSTS')).toBe('Integer(ENV.fetch("HOSTNET_LAB_HOSTS", "3"))');
    expect(code).toMatch(/\(1\.\.LAB_HOSTS\)\.each do \|i\|\n\s+config\.vm\.define "h#\{i\}"/);
    const addr = /def lab_address\(i\)\n\s*"([^"]+)"\n\s*end/.exec(code)?.[1];
    expect(addr).toBeDefined();
    for (const i of [1, 2, 3]) expect(addr!.replace('#{i}', String(i))).toBe(hostAddress(i));
    expect(code).toMatch(/private_network, ip: lab_address\(i\)/);
  });

  it('runs hostnet-agent on each host with the lab\'s --listen and TLS flags and lets in only the control plane\'s identity', () => {
    expect(constant('LAB_PORT')).toBe(String(AGENT_PORT));
    expect(constant('LAB_CTL_IDENTITY')).toBe(JSON.stringify(CTL_IDENTITY));
    expect(code).toMatch(/dist\/agent\/main\.js/);
    expect(code).toMatch(/--listen #\{lab_address\(i\)\}:#\{LAB_PORT\}/);
    expect(code).toMatch(/--tls-allow-client #\{LAB_CTL_IDENTITY\}/);
    // Every flag the namespace lab gives an agent, the VMs' agents get too.
    const flags = agentArgs(topology('hntest-x-', 3), '/d', 1, { caFile: '/ca' }).filter((a) => a.startsWith('--'));
    for (const flag of new Set(flags)) expect(code, flag).toMatch(new RegExp(`${flag} `));
    // The server certificates name the host's address (the client checks it), the client's the identity.
    expect(code).toMatch(/"IP:#\{lab_address\(i\)\}"/);
    expect(code).toMatch(/"URI:#\{LAB_CTL_IDENTITY\}"/);
  });

  it('keeps the single test machine as the default one', () => {
    expect(code).toMatch(/config\.vm\.define "test", primary: true/);
    expect(code).toMatch(/config\.vm\.define "h#\{i\}", autostart: false/);
  });

  it('is valid Ruby (ruby -c, where Ruby is installed)', async (ctx) => {
    const which = await execa('sh', ['-c', 'command -v ruby'], { reject: false });
    if (which.exitCode !== 0) return ctx.skip();
    const r = await execa('ruby', ['-c', FILE], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Syntax OK/);
  });
});
