// The generated service works with @grpc/grpc-js over a unix socket (ESM, NodeNext), including
// the server stream; the wire form of the desired state is the generated encoding.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApplyResponse, NodeAgentClient, NodeAgentService, WatchStatusResponse, type ApplyRequest, type NodeAgentServer,
} from '../../../agent/api/gen/hostnet/v1/agent.js';
import { ConditionStatus, ResourceKind } from '../../../agent/api/gen/hostnet/v1/status.js';

const unimplemented: grpc.handleUnaryCall<any, any> = (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test' });

let dir: string;
let server: grpc.Server;
let client: NodeAgentClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hostnet-grpc-'));
  const impl: NodeAgentServer = {
    apply: (call: grpc.ServerUnaryCall<ApplyRequest, ApplyResponse>, cb) => {
      const s = call.request.state!;
      cb(null, { generation: s.generation, plan: s.networks.map((n) => `ensure bridge for ${n.name}`) });
    },
    watchStatus: (call) => {
      call.write({
        resourceKind: ResourceKind.RESOURCE_KIND_NETWORK, resourceName: 'web',
        condition: { type: 'Ready', status: ConditionStatus.CONDITION_STATUS_TRUE, reason: 'Converged', message: '', lastTransitionTime: new Date(1_700_000_000_000), observedGeneration: 3 },
      });
      call.end();
    },
    upsertNetwork: unimplemented, deleteNetwork: unimplemented, upsertAttachment: unimplemented,
    deleteAttachment: unimplemented, getState: unimplemented, getStatus: unimplemented,
    listLeases: unimplemented, listIpUsage: unimplemented,
  };
  server = new grpc.Server();
  server.addService(NodeAgentService, impl);
  const address = `unix://${path.join(dir, 'agent.sock')}`;
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  client = new NodeAgentClient(address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('generated gRPC service', () => {
  it('unary Apply round-trips the desired state', async () => {
    const res = await new Promise<ApplyResponse>((resolve, reject) => client.apply({
      dryRun: true,
      state: { generation: 7, networks: [{ name: 'web', cidr: '192.168.10.0/24', ipFamily: 4, gateway: '', gatewayOnBridge: false, importedBridge: false, ipv6Mode: 0, mode: 0, announce: 0 }], attachments: [], securityGroups: [], routers: [] },
    }, (err, r) => (err ? reject(err) : resolve(r))));
    expect(res).toEqual({ generation: 7, plan: ['ensure bridge for web'] });
  });

  it('server stream WatchStatus delivers condition transitions with timestamps', async () => {
    const got: WatchStatusResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client.watchStatus({ sendInitial: true });
      stream.on('data', (m: WatchStatusResponse) => got.push(m));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(got).toHaveLength(1);
    expect(got[0]?.condition?.lastTransitionTime).toEqual(new Date(1_700_000_000_000));
    expect(WatchStatusResponse.toJSON(got[0]!)).toMatchObject({
      resourceKind: 'RESOURCE_KIND_NETWORK', condition: { status: 'CONDITION_STATUS_TRUE', lastTransitionTime: '2023-11-14T22:13:20.000Z', observedGeneration: 3 },
    });
  });

  it('unimplemented calls fail with UNIMPLEMENTED', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) => client.getState({}, (e) => resolve(e!)));
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});
