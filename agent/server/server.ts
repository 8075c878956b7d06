// The agent's gRPC server on its unix socket: NodeAgent, Cni (hostnet-cni's), grpc.health.v1 (SERVING once the
// first reconcile is done) and server reflection (so grpcurl and friends can list the API). With
// `remote`, the same NodeAgent, health and reflection are also served over TCP with mutual TLS
// (tls-listener.ts); Cni stays on the unix socket: a CNI plugin runs on this node, nobody else
// has any business attaching containers here.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeAgentService } from '../api/gen/hostnet/v1/agent.js';
import { encodedOnce } from './encode-once.js';
import { CniService } from '../api/gen/hostnet/v1/cni.js';
import type { CniBackend } from '../cni/backend.js';
import { cniService } from './cni-service.js';
import type { ReconcileLogger } from '../reconcile/reconciler.js';
import type { NodeAgent } from './node-agent.js';
import { tolerantDecoding } from './decode.js';
import { nodeAgentService } from './service.js';
import { prepareSocketPath, withSocketUmask } from './unix-socket.js';
import type { TlsConfig } from './tls-listener.js';
import { startTlsListener, type TlsListener } from './tls-listener.js';

export const SERVICE_NAME = 'hostnet.v1.NodeAgent';

export interface AgentServer {
  socketPath: string;
  health: HealthImplementation;
  /** The TCP listener, when `remote` was given. */
  remote: TlsListener | null;
  /** Stops accepting, ends open streams, removes the socket file. */
  close(): Promise<void>;
}

/** The proto directory, from the sources (agent/server) or the build (dist/agent/server). */
function protoDir(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const dir = path.resolve(here, up, 'proto');
    if (existsSync(path.join(dir, 'hostnet/v1/agent.proto'))) return dir;
  }
  return null;
}

function addReflection(server: grpc.Server, log?: ReconcileLogger, protos = ['hostnet/v1/agent.proto', 'hostnet/v1/cni.proto']): void {
  const dir = protoDir();
  if (!dir) {
    log?.warn({}, 'proto files not found: server reflection is off');
    return;
  }
  const definition = protoLoader.loadSync(protos, { includeDirs: [dir] });
  new ReflectionService(definition).addToServer(server);
}

/** Where a remote control plane reaches the agent: gRPC over TCP, mutual TLS only. */
export interface RemoteListen {
  address: string;
  tls: TlsConfig;
}

export async function startAgentServer(
  agent: NodeAgent, socketPath: string, log?: ReconcileLogger, cni: CniBackend | null = null, remote: RemoteListen | null = null,
): Promise<AgentServer> {
  await prepareSocketPath(socketPath);
  const server = new grpc.Server();
  const service = nodeAgentService(agent, log);
  server.addService(encodedOnce(tolerantDecoding(NodeAgentService), ['getStatus']), service.implementation);
  if (cni) server.addService(CniService, cniService(cni, log));
  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  addReflection(server, log);
  await withSocketUmask(socketPath, () => new Promise<number>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(new Error(`listen on ${socketPath}: ${err.message}`)) : resolve(port)))));
  let tcp: TlsListener | null = null;
  try {
    tcp = remote && await startTlsListener({
      address: remote.address, tls: remote.tls, log,
      addServices: (s) => {
        s.addService(encodedOnce(tolerantDecoding(NodeAgentService), ['getStatus']), service.implementation);
        health.addToServer(s);
        addReflection(s, log, ['hostnet/v1/agent.proto']);
      },
    });
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  const shutdown = (s: grpc.Server): Promise<void> => new Promise<void>((resolve) => {
    // WatchStatus streams never end by themselves: they were ended; give unary calls a
    // moment, then force.
    const force = setTimeout(() => s.forceShutdown(), 1000);
    s.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
  return {
    socketPath,
    health,
    remote: tcp,
    close: async () => {
      service.endStreams();
      tcp?.certificates.close();
      await Promise.all([shutdown(server), ...(tcp ? [shutdown(tcp.server)] : [])]);
    },
  };
}
