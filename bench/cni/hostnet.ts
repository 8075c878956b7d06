// hostnet-cni as a node would run it: the real hostnet-agent process (in its own namespace, the
// node's "host" namespace here, with its own socket and state), a network "web" applied by the
// control plane, and the plugin (dist/agent/cni-plugin/main.js, linked as `hostnet-cni` into a
// CNI_PATH directory as an install would, exec'd through its `#!/usr/bin/env node`) with the
// issue's network configuration, run from that same namespace.
import * as grpc from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NodeAgentClient } from '../../agent/api/gen/hostnet/v1/agent.js';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { CNI_PLUGIN_JS, DEBIAN_CNI_DIR, hostnetCniBinDir } from '../../agent/testing/cni-runtime.js';
import { spawnAgent, stopAgent, waitForLog, type Agent } from '../../agent/testing/launch.js';
import { linksIn, type Family } from './phase.js';

export interface Hostnet {
  family: Family;
  agent: Agent;
  /** The agent's unix socket. */
  socket: string;
  close(): Promise<void>;
}

function apply(client: NodeAgentClient, state: DesiredState): Promise<void> {
  return new Promise((resolve, reject) => {
    client.apply({ state, dryRun: false }, new grpc.Metadata(), { deadline: Date.now() + 60_000 }, (err) =>
      err ? reject(new Error(`bench/cni: Apply of network web: ${err.message}`)) : resolve());
  });
}

export async function openHostnet(agentNs: string): Promise<Hostnet> {
  if (!existsSync(CNI_PLUGIN_JS)) throw new Error(`${CNI_PLUGIN_JS} missing: build the plugin (npm run build) or pass --without-hostnet`);
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-bench-cni-'));
  const bin = await hostnetCniBinDir(path.join(dir, 'bin')).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const socket = path.join(dir, 'agent.sock');
  // Debug logging costs the agent time per pass; info is what a node runs with.
  const agent = spawnAgent(agentNs, socket, path.join(dir, 'state'), ['--log-level', 'info']);
  const client = new NodeAgentClient(`unix://${socket}`, grpc.credentials.createInsecure());
  const close = async (): Promise<void> => {
    client.close();
    await stopAgent(agent).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForLog(agent, '"converged after start"', 0, 30_000);
    await apply(client, DesiredState.fromJSON({
      generation: 1,
      networks: [{ name: 'web', mtu: 1500, ipFamily: 'IPV4', cidr: '10.89.0.0/16', gateway: '10.89.0.1', gatewayOnBridge: true }],
      attachments: [],
    }));
  } catch (err) {
    await close();
    throw err;
  }
  const family: Family = {
    key: 'hn',
    hostNs: agentNs,
    type: 'hostnet-cni',
    cniPath: [bin, DEBIAN_CNI_DIR],
    config: { cniVersion: '1.1.0', name: 'web', type: 'hostnet-cni', network: 'web', agentSocket: socket },
    // The attachments' host ends are named cni<12 hex>.
    leftovers: async () => (await linksIn(agentNs)).filter((l) => l.startsWith('cni')).map((l) => `link ${l}`),
  };
  return { family, agent, socket, close };
}
