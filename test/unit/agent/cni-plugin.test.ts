// hostnet-cni's pure parts: the CNI_* environment, the network configuration, the result per
// spec version (0.4.0, 1.0.0, 1.1.0), chaining with a prevResult, and the error codes.
import { describe, expect, it } from 'vitest';
import { validIpOrCidr, validMac } from '../../../agent/cni-plugin/addresses.js';
import { DEFAULT_AGENT_SOCKET, parseConfig } from '../../../agent/cni-plugin/config.js';
import { parseCniArgs, parseEnv } from '../../../agent/cni-plugin/env.js';
import { CNI_ERR, CniError, errorJson } from '../../../agent/cni-plugin/errors.js';
import { GRPC, decodeGrpcMessage, frame, unframe } from '../../../agent/cni-plugin/grpc-unary.js';
import type { CniAddAnswer } from '../../../agent/cni-plugin/messages.js';
import { outcomeError } from '../../../agent/cni-plugin/outcome.js';
import { addResult, mergeWithPrev, prevAddressesMissing } from '../../../agent/cni-plugin/result.js';
import { run } from '../../../agent/cni-plugin/run.js';
import { versionAtLeast } from '../../../agent/cni-plugin/version.js';

const ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/pod', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const CONF = { cniVersion: '1.1.0', name: 'web', type: 'hostnet-cni', network: 'web' };

/** The CniError a call throws (fails the test when it does not throw one). */
function thrown(f: () => unknown): CniError {
  try {
    f();
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
  throw new Error('expected a CniError');
}

describe('CNI_* environment', () => {
  it('reads what ADD needs, CNI_ARGS as pairs and CNI_PATH as a list', () => {
    expect(parseEnv({ ...ENV, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=a=b;IP=10.0.0.5', CNI_PATH: '/a:/b' })).toEqual({
      command: 'ADD', containerId: 'c0ffee', netns: '/run/netns/pod', ifName: 'eth0',
      args: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'a=b'], ['IP', '10.0.0.5']], path: ['/a', '/b'],
    });
  });

  it.each([
    [{ CNI_COMMAND: undefined }, 'CNI_COMMAND is not set'],
    [{ CNI_COMMAND: 'FROB' }, 'unknown CNI_COMMAND FROB'],
    [{ CNI_CONTAINERID: '' }, 'CNI_CONTAINERID is not set'],
    [{ CNI_CONTAINERID: '-bad' }, 'invalid CNI_CONTAINERID'],
    [{ CNI_NETNS: '' }, 'CNI_NETNS is not set'],
    [{ CNI_IFNAME: '' }, 'CNI_IFNAME is not set'],
    [{ CNI_IFNAME: 'a-name-of-16-chr' }, 'invalid CNI_IFNAME'],
    [{ CNI_IFNAME: 'eth/0' }, 'invalid CNI_IFNAME'],
    [{ CNI_ARGS: 'IP' }, 'invalid CNI_ARGS item "IP"'],
    [{ CNI_ARGS: '=x' }, 'invalid CNI_ARGS item'],
  ])('%j is error 4 (%s)', (change, msg) => {
    const e = thrown(() => parseEnv({ ...ENV, ...change }));
    expect(e.code).toBe(CNI_ERR.INVALID_ENV);
    expect(e.message).toContain(msg);
  });

  it('DEL needs no namespace; VERSION, STATUS and GC need no container', () => {
    expect(parseEnv({ ...ENV, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns).toBe('');
    for (const c of ['VERSION', 'STATUS', 'GC']) expect(parseEnv({ CNI_COMMAND: c }).command).toBe(c);
  });

  it('empty CNI_ARGS items are skipped', () => {
    expect(parseCniArgs(';A=1;;B=;')).toEqual([['A', '1'], ['B', '']]);
  });
});

describe('network configuration', () => {
  const parse = (c: Record<string, unknown>, command: 'ADD' | 'GC' | 'STATUS' = 'ADD', args: [string, string][] = []) => parseConfig(JSON.stringify(c), command, args);

  it('the issue\'s configuration as written; agentSocket defaults to /run/hostnet/agent.sock', () => {
    expect(parse({ ...CONF, agentSocket: '/run/hostnet/agent.sock' })).toEqual({
      cniVersion: '1.1.0', name: 'web', network: 'web', agentSocket: '/run/hostnet/agent.sock', ips: [], mac: '', prevResult: undefined, validAttachments: [],
    });
    expect(parse(CONF).agentSocket).toBe(DEFAULT_AGENT_SOCKET);
  });

  it('static addresses and MAC: runtimeConfig first, then args.cni, then CNI_ARGS IP=/MAC=', () => {
    const env: [string, string][] = [['IP', '10.0.0.7,10.0.0.8/24'], ['MAC', '02:00:00:00:00:09']];
    expect(parse({ ...CONF, runtimeConfig: { ips: ['10.0.0.5/24'], mac: '02:00:00:00:00:01' }, args: { cni: { ips: ['10.0.0.6'] } } }, 'ADD', env))
      .toMatchObject({ ips: ['10.0.0.5/24'], mac: '02:00:00:00:00:01' });
    expect(parse({ ...CONF, args: { cni: { ips: ['10.0.0.6'], mac: '02:00:00:00:00:02' } } }, 'ADD', env)).toMatchObject({ ips: ['10.0.0.6'], mac: '02:00:00:00:00:02' });
    expect(parse(CONF, 'ADD', env)).toMatchObject({ ips: ['10.0.0.7', '10.0.0.8/24'], mac: '02:00:00:00:00:09' });
  });

  it('GC reads cni.dev/valid-attachments', () => {
    const c = parse({ ...CONF, 'cni.dev/valid-attachments': [{ containerID: 'a1', ifname: 'eth0' }, { containerID: 'b2', ifname: 'net1' }] }, 'GC');
    expect(c.validAttachments).toEqual([{ containerId: 'a1', ifName: 'eth0' }, { containerId: 'b2', ifName: 'net1' }]);
  });

  it('bad JSON is error 6', () => {
    expect(thrown(() => parseConfig('{"cniVersion":', 'ADD', [])).code).toBe(CNI_ERR.DECODE);
    expect(thrown(() => parseConfig('[1]', 'ADD', [])).code).toBe(CNI_ERR.DECODE);
  });

  it.each([
    ['0.3.1', 'ADD'], ['2.0.0', 'ADD'], [undefined, 'ADD'], ['1.0.0', 'STATUS'], ['0.4.0', 'GC'],
  ] as const)('cniVersion %s for %s is error 1', (v, command) => {
    expect(thrown(() => parse({ ...CONF, cniVersion: v }, command)).code).toBe(CNI_ERR.INCOMPATIBLE_VERSION);
  });

  it.each([
    [{ name: undefined }, 'invalid network name'],
    [{ name: 'has space' }, 'invalid network name'],
    [{ type: undefined }, 'type is required'],
    [{ network: undefined }, 'network is required'],
    [{ network: 7 }, 'network must be a string'],
    [{ agentSocket: 'run/agent.sock' }, 'must be an absolute path'],
    [{ runtimeConfig: { ips: ['10.0.0.300'] } }, 'invalid static address "10.0.0.300"'],
    [{ runtimeConfig: { ips: '10.0.0.5' } }, 'runtimeConfig.ips must be a list of strings'],
    [{ runtimeConfig: { mac: '01:00:00:00:00:01' } }, 'invalid MAC'],
    [{ args: { cni: { mac: 'zz' } } }, 'invalid MAC'],
    [{ prevResult: [] }, 'prevResult must be an object'],
  ])('%j is error 7 (%s)', (change, msg) => {
    const e = thrown(() => parse({ ...CONF, ...change }));
    expect(e.code).toBe(CNI_ERR.INVALID_CONFIG);
    expect(e.message).toContain(msg);
  });

  it('a bad valid-attachments entry is error 7', () => {
    expect(thrown(() => parse({ ...CONF, 'cni.dev/valid-attachments': [{ containerId: 'a' }] }, 'GC')).code).toBe(CNI_ERR.INVALID_CONFIG);
  });

  it('address and MAC syntax', () => {
    expect(['10.0.0.5', '10.0.0.5/24', 'fd00::5/64', '10.0.0.0/32'].every(validIpOrCidr)).toBe(true);
    expect(['10.0.0', '10.0.0.5/33', 'fd00::5/129', '10.0.0.5/', 'web'].some(validIpOrCidr)).toBe(false);
    expect(validMac('02:AB:cd:00:00:01') && validMac('02-00-00-00-00-01')).toBe(true);
    expect(validMac('03:00:00:00:00:01') || validMac('02:00:00:00:00')).toBe(false);
  });
});

const answer = (over: Partial<NonNullable<CniAddAnswer['attachment']>> = {}): CniAddAnswer => ({
  hostIfName: 'cn1a2b3c4d5e6f', hostMac: '02:00:00:00:00:aa', dns: { nameservers: ['10.0.0.1'], domain: 'pods.local', search: [] },
  attachment: {
    name: 'cni-1a2b3c4d5e6f', network: 'web', ifName: 'cn1a2b3c4d5e6f', ifindex: 9, mac: '02:00:00:00:00:bb', ip: '10.0.0.5',
    addresses: [{ ip: '10.0.0.5', prefixLength: 24, network: 'web', assigned: true }, { ip: 'fd00::5', prefixLength: 64, network: 'web', assigned: true }],
    gateway: '10.0.0.1', routes: [{ destination: '192.168.0.0/16', via: '10.0.0.254' }], vlanId: 0, workloadIfName: 'eth0', containerId: 'c0ffee', mtu: 1450,
    ...over,
  },
});

describe('ADD result per version', () => {
  it('1.1.0: host end, container end with sandbox and mtu, ips with gateway of their family, default route first, dns', () => {
    expect(addResult(answer(), '1.1.0', 'eth0', '/run/netns/pod')).toEqual({
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'cn1a2b3c4d5e6f', mac: '02:00:00:00:00:aa', mtu: 1450 },
        { name: 'eth0', mac: '02:00:00:00:00:bb', mtu: 1450, sandbox: '/run/netns/pod' },
      ],
      ips: [{ address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 1 }, { address: 'fd00::5/64', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }, { dst: '192.168.0.0/16', gw: '10.0.0.254' }],
      dns: { nameservers: ['10.0.0.1'], domain: 'pods.local' },
    });
  });

  it('1.0.0: no interface mtu (a 1.1 field)', () => {
    const r = addResult(answer(), '1.0.0', 'eth0', '/run/netns/pod');
    expect(r.interfaces!.every((i) => i.mtu === undefined)).toBe(true);
    expect(r.ips![0]).toEqual({ address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 1 });
  });

  it('0.4.0: every ip carries its version', () => {
    const r = addResult(answer(), '0.4.0', 'eth0', '/run/netns/pod');
    expect(r.ips).toEqual([
      { version: '4', address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 1 },
      { version: '6', address: 'fd00::5/64', interface: 1 },
    ]);
  });

  it('no gateway: no default route; a default route the agent lists is not doubled', () => {
    expect(addResult(answer({ gateway: '', routes: [] }), '1.1.0', 'eth0', '/p').routes).toEqual([]);
    expect(addResult(answer({ routes: [{ destination: '0.0.0.0/0', via: '10.0.0.1' }] }), '1.1.0', 'eth0', '/p').routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.0.0.1' }]);
  });

  it('chained after another plugin: its entries first, our ip indices shifted, shaped for the version', () => {
    const prev = {
      cniVersion: '0.4.0', interfaces: [{ name: 'lo0', sandbox: '/run/netns/pod' }],
      ips: [{ version: '4', address: '169.254.0.2/32', interface: 0 }], routes: [{ dst: '169.254.0.0/16' }], dns: {},
    };
    const r = mergeWithPrev(prev, addResult(answer({ addresses: [{ ip: '10.0.0.5', prefixLength: 24, network: 'web', assigned: true }], routes: [] }), '1.1.0', 'eth0', '/run/netns/pod'));
    expect(r.interfaces!.map((i) => i.name)).toEqual(['lo0', 'cn1a2b3c4d5e6f', 'eth0']);
    expect(r.ips).toEqual([{ address: '169.254.0.2/32', interface: 0 }, { address: '10.0.0.5/24', gateway: '10.0.0.1', interface: 2 }]);
    expect(r.routes).toEqual([{ dst: '169.254.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.0.0.1' }]);
    expect(r.dns).toEqual({ nameservers: ['10.0.0.1'], domain: 'pods.local' });
    expect(mergeWithPrev(undefined, r)).toBe(r);
  });

  it('CHECK: the prevResult\'s addresses on our interface that the attachment lacks', () => {
    const prev = addResult(answer(), '1.1.0', 'eth0', '/run/netns/pod') as unknown as Record<string, unknown>;
    expect(prevAddressesMissing(prev, 'eth0', '/run/netns/pod', ['10.0.0.5/24', 'fd00::5/64'])).toEqual([]);
    expect(prevAddressesMissing(prev, 'eth0', '/run/netns/pod', ['10.0.0.5/24'])).toEqual(['fd00::5/64']);
    expect(prevAddressesMissing(prev, 'net1', '/run/netns/pod', [])).toEqual([]);
  });
});

describe('errors', () => {
  const o = (code: number, message = 'why') => ({ kind: 'status' as const, code, message });

  it.each([
    ['ADD', GRPC.NOT_FOUND, CNI_ERR.NETWORK_NOT_FOUND],
    ['ADD', GRPC.RESOURCE_EXHAUSTED, CNI_ERR.NO_FREE_ADDRESS],
    ['ADD', GRPC.INVALID_ARGUMENT, CNI_ERR.AGENT_REJECTED],
    ['ADD', GRPC.FAILED_PRECONDITION, CNI_ERR.NOT_CONFIGURED],
    ['CHECK', GRPC.FAILED_PRECONDITION, CNI_ERR.CHECK_MISMATCH],
    ['ADD', GRPC.UNAVAILABLE, CNI_ERR.TRY_AGAIN_LATER],
    ['ADD', GRPC.DEADLINE_EXCEEDED, CNI_ERR.TRY_AGAIN_LATER],
    ['ADD', GRPC.INTERNAL, CNI_ERR.AGENT_FAILED],
    ['GC', GRPC.UNIMPLEMENTED, CNI_ERR.AGENT_FAILED],
  ] as const)('%s answered gRPC %i is CNI error %i', (op, grpcCode, cniCode) => {
    const e = outcomeError(op, '/run/hostnet/agent.sock', o(grpcCode, 'device cn1 missing'));
    expect(e.code).toBe(cniCode);
    expect(`${e.message} ${e.details}`).toContain('device cn1 missing');
  });

  it('an unreachable agent is 11 (try again later); EACCES is 107; an unreadable answer 106', () => {
    expect(outcomeError('ADD', '/s', { kind: 'unreachable', cause: 'connect ENOENT /s', errno: 'ENOENT' })).toMatchObject({ code: 11, message: 'ADD: the hostnet agent is not reachable on /s' });
    expect(outcomeError('DEL', '/s', { kind: 'failed', cause: 'connect EACCES /s', errno: 'EACCES' }).code).toBe(CNI_ERR.SOCKET_DENIED);
    expect(outcomeError('ADD', '/s', { kind: 'failed', cause: 'HTTP status 404', errno: 'EPROTO' }).code).toBe(CNI_ERR.BAD_ANSWER);
  });

  it('the spec\'s error JSON; details only when there are some', () => {
    expect(errorJson(new CniError(7, 'network is required'), '1.0.0')).toEqual({ cniVersion: '1.0.0', code: 7, msg: 'network is required' });
    expect(errorJson(new CniError(11, 'later', 'restarting'), '1.1.0')).toEqual({ cniVersion: '1.1.0', code: 11, msg: 'later', details: 'restarting' });
  });

  it('gRPC framing and grpc-message decoding', () => {
    const f = frame(Uint8Array.from([1, 2, 3]));
    expect([...f]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
    expect([...(unframe(f) as Uint8Array)]).toEqual([1, 2, 3]);
    expect(unframe(Buffer.from([0, 0, 0, 0, 9, 1]))).toMatch(/for a message of 9/);
    expect(unframe(Buffer.from([1, 0, 0, 0, 0]))).toMatch(/compressed/);
    expect(decodeGrpcMessage('device%20cn1%20missing%3A%20%C3%BC')).toBe('device cn1 missing: ü');
    expect(decodeGrpcMessage('100%')).toBe('100%');
  });

  it('version comparison', () => {
    expect(versionAtLeast('1.1.0', '1.1.0') && versionAtLeast('1.10.0', '1.9.0')).toBe(true);
    expect(versionAtLeast('0.4.0', '1.0.0') || versionAtLeast('x', '1.0.0')).toBe(false);
  });
});

describe('run (no agent needed)', () => {
  it('VERSION lists 0.4.0, 1.0.0, 1.1.0', async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  });

  it('errors carry the runtime\'s cniVersion when we speak it, else ours', async () => {
    const bad = await run({ ...ENV }, JSON.stringify({ ...CONF, cniVersion: '1.0.0', network: '' }));
    expect(bad.code).toBe(7);
    expect(JSON.parse(bad.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 7, msg: 'network is required: the hostnet network to attach to' });
    const old = await run({ ...ENV }, JSON.stringify({ ...CONF, cniVersion: '0.3.1' }));
    expect(JSON.parse(old.stdout)).toMatchObject({ cniVersion: '1.1.0', code: 1 });
    const env = await run({ ...ENV, CNI_IFNAME: '' }, JSON.stringify(CONF));
    expect(JSON.parse(env.stdout)).toMatchObject({ code: 4 });
  });
});
