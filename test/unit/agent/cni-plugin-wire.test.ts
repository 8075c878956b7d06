// hostnet-cni's own protobuf codec and node:http2 gRPC client against the generated code and a
// real @grpc/grpc-js server: the bytes of every request equal the generated encoder's, every
// answer decodes as the generated decoder reads it, and statuses, trailers-only answers,
// percent-encoded messages, a socket nobody listens on and UNAVAILABLE reach the plugin as they
// should (retried for the short while, then "try again later").
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CniAddRequest, CniAddResponse, CniCheckRequest, CniCheckResponse, CniDelRequest, CniDelResponse, CniGcRequest,
  CniGcResponse, CniService, CniStatusRequest, CniStatusResponse, type CniServer,
} from '../../../agent/api/gen/hostnet/v1/cni.js';
import { AddressSource, ConditionStatus, type AttachmentStatus } from '../../../agent/api/gen/hostnet/v1/status.js';
import { callAgent } from '../../../agent/cni-plugin/agent-call.js';
import { GRPC, unary } from '../../../agent/cni-plugin/grpc-unary.js';
import * as m from '../../../agent/cni-plugin/messages.js';
import { fields, ProtoDecodeError } from '../../../agent/cni-plugin/proto.js';

const att: AttachmentStatus = {
  name: 'cni-0123456789ab', network: 'web', ifName: 'cni0123456789ab', ifindex: 300, mac: '02:00:00:00:00:05', ip: '10.0.0.5',
  conditions: [{ type: 'Ready', status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Converged', message: 'ok', lastTransitionTime: new Date(1_700_000_000_000), observedGeneration: 3 }],
  portSecurity: { securityGroups: ['g'], allowedAddresses: ['10.0.0.5'], allowedMacs: [], spoofDroppedPackets: 2 ** 40, ingressDroppedPackets: 1, egressDroppedPackets: 0 },
  addresses: [
    { ip: '10.0.0.5', prefixLength: 24, network: 'web', source: AddressSource.ADDRESS_SOURCE_AUTO, assigned: true },
    { ip: '10.0.0.200', prefixLength: 24, network: 'web', source: AddressSource.ADDRESS_SOURCE_STATIC, assigned: false },
  ],
  gateway: '10.0.0.1', routes: [{ destination: '192.168.0.0/16', via: '10.0.0.254' }, { destination: '10.9.0.0/16', via: '' }],
  vlanId: 4094, workloadIfName: 'eth0', containerId: 'c0ffee-ünïcode', mtu: 9000,
};
const { conditions: _c, portSecurity: _p, ...plain } = att;
const expected: m.CniAttachment = { ...plain, addresses: att.addresses.map(({ source: _s, ...a }) => a) };

describe('protobuf codec = the generated one', () => {
  it('requests: the same bytes as the generated encoders', () => {
    const ref = { containerId: 'c0ffee', ifName: 'eth0' };
    const add = { ref, netns: '/run/netns/pod', network: 'web', cniNetwork: 'web-cni', ips: ['10.0.0.5/24', 'fd00::5'], mac: '02:00:00:00:00:01' };
    expect(m.encodeAdd(add)).toEqual(CniAddRequest.encode(add).finish());
    const sparse = { ref: { containerId: 'x', ifName: '' }, netns: '', network: 'web', cniNetwork: '', ips: [], mac: '' };
    expect(m.encodeAdd(sparse)).toEqual(CniAddRequest.encode(sparse).finish());
    expect(m.encodeDel({ ref, network: 'web' })).toEqual(CniDelRequest.encode({ ref, network: 'web' }).finish());
    expect(m.encodeCheck({ ref, netns: '/p', network: 'web' })).toEqual(CniCheckRequest.encode({ ref, netns: '/p', network: 'web' }).finish());
    const gc = { cniNetwork: 'web', valid: [ref, { containerId: 'b', ifName: 'net1' }] };
    expect(m.encodeGc(gc)).toEqual(CniGcRequest.encode(gc).finish());
    expect(m.encodeGc({ cniNetwork: 'web', valid: [] })).toEqual(CniGcRequest.encode({ cniNetwork: 'web', valid: [] }).finish());
    expect(m.encodeStatus({ network: 'web' })).toEqual(CniStatusRequest.encode({ network: 'web' }).finish());
    // A long string: a multi-byte length varint.
    const long = { network: 'n'.repeat(300) };
    expect(m.encodeStatus(long)).toEqual(CniStatusRequest.encode(long).finish());
  });

  it('answers: what the generated encoders write reads back (conditions and port security skipped)', () => {
    const add = CniAddResponse.encode({ attachment: att, hostIfName: 'cni0123456789ab', hostMac: '02:00:00:00:00:06', dns: { nameservers: ['10.0.0.1', '10.0.0.2'], domain: 'x', search: ['a', 'b'] } }).finish();
    expect(m.decodeAddAnswer(add)).toEqual({ attachment: expected, hostIfName: 'cni0123456789ab', hostMac: '02:00:00:00:00:06', dns: { nameservers: ['10.0.0.1', '10.0.0.2'], domain: 'x', search: ['a', 'b'] } });
    expect(m.decodeAddAnswer(new Uint8Array())).toEqual({ attachment: undefined, hostIfName: '', hostMac: '', dns: undefined });
    expect(m.decodeCheckAnswer(CniCheckResponse.encode({ attachment: att }).finish())).toEqual({ attachment: expected });
    expect(m.decodeDelAnswer(CniDelResponse.encode({ removed: true }).finish())).toEqual({ removed: true });
    expect(m.decodeDelAnswer(CniDelResponse.encode({ removed: false }).finish())).toEqual({ removed: false });
    expect(m.decodeGcAnswer(CniGcResponse.encode({ removed: ['cni-a', 'cni-b'] }).finish())).toEqual({ removed: ['cni-a', 'cni-b'] });
    expect(m.decodeStatusAnswer(CniStatusResponse.encode({ ready: false, message: 'network web: BridgeMissing' }).finish())).toEqual({ ready: false, message: 'network web: BridgeMissing' });
  });

  it('truncated or malformed bytes are a ProtoDecodeError', () => {
    const add = CniAddResponse.encode({ attachment: att, hostIfName: 'h', hostMac: '', dns: undefined }).finish();
    expect(() => m.decodeAddAnswer(add.subarray(0, 40))).toThrow(ProtoDecodeError);
    expect(() => [...fields(Uint8Array.from([0x0b]))]).toThrow(/wire type 3/);
    expect(() => [...fields(Uint8Array.from([0x08, 0xff]))]).toThrow(/truncated varint/);
  });
});

describe('node:http2 unary calls against a grpc-js server', () => {
  let dir: string;
  let socket: string;
  let server: grpc.Server;
  let unavailableLeft = 0;
  const seen: unknown[] = [];

  const impl: CniServer = {
    add: (call, cb) => {
      seen.push(call.request);
      if (unavailableLeft > 0) {
        unavailableLeft--;
        cb({ code: grpc.status.UNAVAILABLE, details: 'agent shutting down' });
        return;
      }
      cb(null, { attachment: att, hostIfName: 'cni0123456789ab', hostMac: '02:00:00:00:00:06', dns: undefined });
    },
    del: (_call, cb) => cb(null, { removed: false }),
    check: (_call, cb) => cb({ code: grpc.status.FAILED_PRECONDITION, details: 'address 10.0.0.5/24 missing in the pod: 100% gone, ü' }),
    gc: (call, cb) => cb(null, { removed: call.request.valid.map((v) => v.containerId) }),
    status: (_call, cb) => cb(null, { ready: true, message: '' }),
  };

  const bind = (s: grpc.Server): Promise<void> => new Promise((resolve, reject) => s.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hostnet-cni-wire-'));
    socket = path.join(dir, 'agent.sock');
    server = new grpc.Server();
    server.addService(CniService, impl);
    await bind(server);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const addReq = { ref: { containerId: 'c0ffee', ifName: 'eth0' }, netns: '/run/netns/pod', network: 'web', cniNetwork: 'web', ips: ['10.0.0.5'], mac: '' };

  it('OK: the server read our request, we read its answer', async () => {
    seen.length = 0;
    const o = await unary(socket, '/hostnet.v1.Cni/Add', m.encodeAdd(addReq), 5000);
    expect(o.kind).toBe('ok');
    expect(seen).toEqual([addReq]);
    expect(m.decodeAddAnswer((o as { body: Uint8Array }).body).attachment).toEqual(expected);
    const gc = await unary(socket, '/hostnet.v1.Cni/Gc', m.encodeGc({ cniNetwork: 'web', valid: [{ containerId: 'a', ifName: 'eth0' }] }), 5000);
    expect(m.decodeGcAnswer((gc as { body: Uint8Array }).body)).toEqual({ removed: ['a'] });
    // An answer that is all defaults: an empty message.
    const del = await unary(socket, '/hostnet.v1.Cni/Del', m.encodeDel({ ref: addReq.ref, network: 'web' }), 5000);
    expect(del.kind === 'ok' && m.decodeDelAnswer(del.body)).toEqual({ removed: false });
  });

  it('an error status (trailers-only) with its percent-encoded message', async () => {
    const o = await unary(socket, '/hostnet.v1.Cni/Check', m.encodeCheck({ ref: addReq.ref, netns: '/p', network: 'web' }), 5000);
    expect(o).toEqual({ kind: 'status', code: GRPC.FAILED_PRECONDITION, message: 'address 10.0.0.5/24 missing in the pod: 100% gone, ü' });
  });

  it('a method the server does not have: UNIMPLEMENTED', async () => {
    const o = await unary(socket, '/hostnet.v1.Cni/Frob', new Uint8Array(), 5000);
    expect(o).toMatchObject({ kind: 'status', code: GRPC.UNIMPLEMENTED });
  });

  it('nobody on the socket: unreachable (ENOENT), retried for the window and given up', async () => {
    const t0 = Date.now();
    const o = await callAgent(path.join(dir, 'none.sock'), '/hostnet.v1.Cni/Add', m.encodeAdd(addReq), { retryForMs: 600, timeoutMs: 2000 });
    expect(o).toMatchObject({ kind: 'unreachable', errno: 'ENOENT' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(590);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('UNAVAILABLE is retried: the third attempt succeeds', async () => {
    unavailableLeft = 2;
    seen.length = 0;
    const o = await callAgent(socket, '/hostnet.v1.Cni/Add', m.encodeAdd(addReq), { retryForMs: 3000, timeoutMs: 2000 });
    expect(o.kind).toBe('ok');
    expect(seen).toHaveLength(3);
  });

  it('a server that comes up during the window is reached', async () => {
    const late = path.join(dir, 'late.sock');
    const s2 = new grpc.Server();
    s2.addService(CniService, impl);
    const t = setTimeout(() => void s2.bindAsync(`unix://${late}`, grpc.ServerCredentials.createInsecure(), () => undefined), 400);
    try {
      const o = await callAgent(late, '/hostnet.v1.Cni/Status', m.encodeStatus({ network: 'web' }), { retryForMs: 3000, timeoutMs: 2000 });
      expect(o.kind === 'ok' && m.decodeStatusAnswer(o.body)).toEqual({ ready: true, message: '' });
    } finally {
      clearTimeout(t);
      s2.forceShutdown();
    }
  });

  it('giveUpEarly ends the wait at once', async () => {
    const t0 = Date.now();
    const o = await callAgent(path.join(dir, 'none.sock'), '/hostnet.v1.Cni/Del', new Uint8Array(), { retryForMs: 3000, timeoutMs: 2000, giveUpEarly: async () => true });
    expect(o.kind).toBe('unreachable');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
