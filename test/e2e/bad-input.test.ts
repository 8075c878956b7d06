// Bad input against the real agent (issue 8 part 4) and hostnetctl apply on long applies
// (part 5). Each malformed file given to the real `hostnetctl apply -f` exits non-zero with
// stderr naming the field; raw gRPC requests with bad values get INVALID_ARGUMENT naming
// fields, bounded in size, also in the agent's log; nothing changes in the kernel (`ip -j
// link` in the agent's namespace) and the agent still answers afterwards.
import * as grpc from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { execa } from 'execa';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { ipLinks, type WitnessLink } from '../../dataplane/testing/ip.js';
import { agentClient, buildDist, CTL_JS, hostnetctl, rpc, rpcError, startAgent, type AgentProcess } from '../lib/agent-process.js';
import { eventually, network, state, tap, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(2, 'all', 'badin');
let dir: string;
let socket: string;
let agent: AgentProcess;
let client: NodeAgentClient;
const host = (): string => ns[0]!;
const work = (): string => ns[1]!;

const BASE = () => ({ generation: 1, networks: [network('web', 1)], attachments: [tap('vm1', 'web', 'tap-vm1')] });

/** The links of the agent's namespace, without what changes by itself (bridge timers, carrier). */
async function kernel(): Promise<string> {
  const strip = (l: WitnessLink) => ({ ...l, data: l.kind === 'bridge' ? undefined : l.data, operstate: undefined, flags: l.flags.filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER') });
  return JSON.stringify((await ipLinks(host())).map(strip));
}

async function answers(): Promise<void> {
  const r = await hostnetctl(socket, ['get', 'networks']);
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^web\s/m);
}

/** The agent's log lines that refused a call, since `from` characters of its log. */
function refusals(from: number): string[] {
  return agent.logs().slice(from).split('\n').filter((l) => l.includes('"call refused"'));
}

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-badin-'));
  await chmod(dir, 0o755);
  socket = path.join(dir, 'run', 'agent.sock');
  agent = await startAgent({ netns: host(), socket, stateDir: path.join(dir, 'state') });
  client = agentClient(socket);
  await rpc(client, client.apply, { state: state(BASE()), dryRun: false });
});

afterAll(async () => {
  client?.close();
  await agent?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const big = 'a'.repeat(1 << 20);
const manyMissing = JSON.stringify({ ...BASE(), generation: 2, attachments: Array.from({ length: 10_000 }, (_, i) => tap(`x${i}`, 'nope', `tx${i}`)) });
const BOMB = ['a: &a [x,x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]', 'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]'].join('\n');
const withNet = (extra: Record<string, unknown>) => JSON.stringify({ ...BASE(), generation: 2, networks: [network('web', 1, extra)] });
const withAtt = (a: Record<string, unknown>) => JSON.stringify({ ...BASE(), generation: 2, attachments: [a] });

// [what, file name, content, what stderr must say]
const FILES: [string, string, string, RegExp][] = [
  ['generation "abc"', 'gen.yaml', 'generation: abc\n', /generation: expected an integer 0\.\.\d+, got a string \("abc"\)/],
  ['generation -5', 'gen.json', '{"generation": -5}', /generation: expected an integer 0\.\.\d+, got -5/],
  ['generation 2^64', 'gen64.json', '{"generation": 18446744073709551616}', /generation: expected an integer 0\.\.9007199254740991/],
  ['generation 2.5', 'gen25.yaml', 'generation: 2.5\n', /generation: expected an integer 0\.\.\d+, got 2\.5/],
  ['MTU -1', 'mtu.json', withNet({ mtu: -1 }), /networks\[0\]\.mtu: expected an integer 0\.\.4294967295, got -1/],
  ['MTU 1500.5', 'mtu5.json', withNet({ mtu: 1500.5 }), /networks\[0\]\.mtu: expected an integer 0\.\.4294967295, got 1500\.5/],
  ['TAP owner -1', 'owner.json', withAtt(tap('vm1', 'web', 'tap-vm1', { tap: { ifName: 'tap-vm1', owner: -1 } })), /attachments\[0\]\.tap\.owner: expected an integer 0\.\.4294967295, got -1/],
  ['networks: notalist', 'list.yaml', 'networks: notalist\n', /networks: expected a list of mappings \(Network\), got a string \("notalist"\)/],
  ['networks: [web]', 'names.yaml', 'networks: [web]\n', /networks\[0\]: expected a mapping .*got a string \("web"\)/],
  ['tap and veth', 'both.json', withAtt({ ...tap('vm1', 'web', 'tap-vm1'), veth: { ifName: 'v' } }), /attachments\[0\]: tap and veth are mutually exclusive/],
  ['YAML alias bomb', 'bomb.yaml', BOMB, /not valid YAML: aliases expand too far/],
  ['JSON duplicate key', 'dup.json', '{"generation": 2, "networks": [], "attachments": [], "attachments": []}', /attachments: key given twice/],
  ['a 1 MB name (refused by the agent)', 'big.json', withNet({ name: big }), /networks\[0\]\.name: network name "a+…\[\d+ characters cut\]…/],
  ['10,000 attachments on a missing network (refused by the agent)', 'many.json', manyMissing, /attachments\[0\]\.network: network "nope" is not defined[\s\S]*… and \d+ more/],
];

describe('hostnetctl apply -f with bad input', () => {
  for (const [what, name, content, says] of FILES) {
    it(`${what}: exit 1, stderr names the field, the kernel is unchanged, the agent answers`, async () => {
      const before = await kernel();
      const logFrom = agent.logs().length;
      const file = path.join(dir, name);
      await writeFile(file, content);
      const r = await hostnetctl(socket, ['apply', '-f', file]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(says);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stderr.length).toBeLessThan(8_000);
      for (const line of refusals(logFrom)) expect(line.length).toBeLessThan(10_000);
      expect(await kernel()).toBe(before);
      await answers();
    });
  }
});

describe('raw gRPC requests with bad values', () => {
  it('a huge name and 10,000 bad attachments: INVALID_ARGUMENT naming fields, bounded, also in the log', async () => {
    const before = await kernel();
    const logFrom = agent.logs().length;
    const s = state({ ...BASE(), generation: 2, networks: [network(big, 1)], attachments: JSON.parse(manyMissing).attachments });
    const err = await rpcError(client, client.apply, { state: s, dryRun: false });
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/networks\[0\]\.name: network name "a+…\[\d+ characters cut\]/);
    expect(err.details).toMatch(/… and \d+ more$/);
    expect(err.details.length).toBeLessThan(8_000);
    const logged = await eventually('the refusal in the agent log', () => (refusals(logFrom).length ? refusals(logFrom) : undefined));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/networks\[0\]\.name/);
    expect(logged[0]!.length).toBeLessThan(10_000);
    expect(await kernel()).toBe(before);
  });

  it('a TAP owner of 4294967295 ((uid_t)-1, which the kernel refuses) is INVALID_ARGUMENT naming the field', async () => {
    const err = await rpcError(client, client.apply, { state: state({ ...BASE(), generation: 2, attachments: [tap('vm1', 'web', 'tap-vm1', { tap: { ifName: 'tap-vm1', owner: 4294967295 } })] }), dryRun: false });
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/attachments\[0\]\.tap\.owner: owner 4294967295 is not a usable uid/);
  });

  it('a generation above 2^53 on the wire is INVALID_ARGUMENT naming state.generation, not INTERNAL', async () => {
    // ApplyRequest { state (1) { generation (1): 2^64 - 5 } }, encoded by hand: a client in
    // another language sends this for -5.
    const desired = new BinaryWriter().uint32(8).uint64(2n ** 64n - 5n).finish();
    const request = Buffer.from(new BinaryWriter().uint32(10).bytes(desired).finish());
    const raw = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve, reject) => raw.makeUnaryRequest('/hostnet.v1.NodeAgent/Apply', (b: Buffer) => b, (b: Buffer) => b, request,
        (e, r) => (e ? resolve(e) : reject(new Error(`accepted: ${String(r)}`)))));
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/state\.generation: expected an integer 0\.\.9007199254740991, got a larger value/);
    } finally {
      raw.close();
    }
    expect((await rpc(client, client.getState, {})).state?.generation).toBe(1);
  });
});

describe('hostnetctl apply on a long apply (part 5)', () => {
  const ctl = (args: string[], env: Record<string, string>) =>
    execa(process.execPath, [CTL_JS, '--socket', socket, ...args], { reject: false, timeout: 120_000, env });
  const many = (generation: number, n: number) => ({
    generation, networks: [network('web', 1)],
    attachments: Array.from({ length: n }, (_, i) => veth(`p${i}`, 'web', `hp${i}`, work(), `e${i}`)),
  });

  it('waits past its silence limit while the agent works (answers or uses CPU), and --wait reports all Ready', async () => {
    const file = path.join(dir, 'many.json');
    await writeFile(file, JSON.stringify(many(10, 300)));
    const t0 = Date.now();
    // The pass keeps the agent's event loop from answering for most of its 1 to 3 s, but the
    // agent uses CPU all along: a limit far below the apply's duration is no deadline.
    const r = await ctl(['apply', '-f', file, '--wait', '--timeout', '60'], { HOSTNETCTL_UNRESPONSIVE_MS: '300' });
    const took = Date.now() - t0;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applied generation 10:/);
    expect(r.stdout).toMatch(/generation 10: all networks and attachments Ready$/);
    expect(took).toBeGreaterThan(300);
    expect((await ipLinks(host())).filter((l) => /^hp\d+$/.test(l.ifname))).toHaveLength(300);
  });

  it('--wait names what is not Ready at its timeout (exit 2), the change itself applied', async () => {
    const file = path.join(dir, 'ghost.json');
    const s = many(11, 1);
    s.attachments.push(veth('ghost', 'web', 'hghost', '/var/run/netns/hntest-no-such-ns', 'e0'));
    await writeFile(file, JSON.stringify(s));
    const r = await ctl(['apply', '-f', file, '--wait', '--timeout', '2'], {});
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^applied generation 11:/);
    expect(r.stderr).toMatch(/generation 11 was applied, but after 2 s not everything is Ready:\n\s+attachment ghost: /);
    expect(r.stderr).not.toMatch(/attachment p0:/);
    expect((await rpc(client, client.getState, {})).state?.generation).toBe(11);
  });

  it('gives up only when the agent stops answering, saying the change may still apply', async () => {
    const file = path.join(dir, 'stopped.json');
    await writeFile(file, JSON.stringify(many(12, 1)));
    process.kill(agent.pid, 'SIGSTOP');
    let r;
    try {
      r = await ctl(['apply', '-f', file], { HOSTNETCTL_UNRESPONSIVE_MS: '1500' });
    } finally {
      process.kill(agent.pid, 'SIGCONT');
    }
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/has neither answered nor used any CPU for 1\.5 s; the change may still be applied: check with "hostnetctl get networks"/);
    await answers();
  });
});
