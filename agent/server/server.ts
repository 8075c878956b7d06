// The agent's gRPC server on its unix socket: NodeAgent, Cni (hostnet-cni's), grpc.health.v1 (SERVING once the
// first reconcile is done) and server reflection (so grpcurl and friends can list the API).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeAgentService } from '../api/gen/hostnet/v1/agent.js';
import { CniService } from '../api/gen/hostnet/v1/cni.js';
import type { CniBackend } from '../cni/backend.js';
import { cniService } from './cni-service.js';
import type { ReconcileLogger } from '../reconcile/reconciler.js';
import type { NodeAgent } from './node-agent.js';
import { tolerantDecoding } from './decode.js';
import { nodeAgentService } from './service.js';
import { prepareSocketPath, withSocketUmask } from './unix-socket.js';

export const SERVICE_NAME = 'hostnet.v1.NodeAgent';

export interface AgentServer {
  socketPath: string;
  health: HealthImplementation;
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

function addReflection(server: grpc.Server, log?: ReconcileLogger): void {
  const dir = protoDir();
  if (!dir) {
    log?.warn({}, 'proto files not found: server reflection is off');
    return;
  }
  const definition = protoLoader.loadSync(['hostnet/v1/agent.proto', 'hostnet/v1/cni.proto'], { includeDirs: [dir] });
  new ReflectionService(definition).addToServer(server);
}

export async function startAgentServer(agent: NodeAgent, socketPath: string, log?: ReconcileLogger, cni: CniBackend | null = null): Promise<AgentServer> {
  await prepareSocketPath(socketPath);
  const server = new grpc.Server();
  const service = nodeAgentService(agent, log);
  server.addService(tolerantDecoding(NodeAgentService), service.implementation);
  if (cni) server.addService(CniService, cniService(cni, log));
  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  addReflection(server, log);
  await withSocketUmask(socketPath, () => new Promise<number>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(new Error(`listen on ${socketPath}: ${err.message}`)) : resolve(port)))));
  return {
    socketPath,
    health,
    close: () => new Promise<void>((resolve) => {
      // WatchStatus streams never end by themselves: end them, give unary calls a moment,
      // then force.
      service.endStreams();
      const force = setTimeout(() => server.forceShutdown(), 1000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    }),
  };
}
