// The agent process's life: configuration (flags over the file, a missing explicit file is an
// error), sd_notify READY=1 after the first reconcile and WATCHDOG=1 pings (path and abstract
// notify sockets), SIGTERM, and server reflection.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist, runAgentExpectingFailure, startAgent } from '../lib/agent-process.js';
import { listenNotify } from '../lib/agent-notify.js';
import { eventually } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

const ns = useNetns(1, 'all', 'life');
let dir: string;

beforeAll(async () => {
  await buildDist();
  dir = await mkdtemp(path.join(tmpdir(), 'hostnet-life-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('hostnet-agent process', () => {
  it('refuses a missing explicit config file and unknown flags, with one clear line', async () => {
    const missing = await runAgentExpectingFailure(['--config', path.join(dir, 'nope.yaml')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.output.trim()).toMatch(/^hostnet-agent: read config .*nope\.yaml: ENOENT/);
    const unknown = await runAgentExpectingFailure(['--bogus']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.output).toMatch(/Unknown option '--bogus'/);
  });

  for (const kind of ['path', 'abstract'] as const) {
    it(`sends READY=1 after the first reconcile and WATCHDOG=1 pings (${kind} NOTIFY_SOCKET); flags override the file`, async () => {
      const address = kind === 'path' ? path.join(dir, 'notify.sock') : `@hostnet-test-notify-${process.pid}`;
      const notify = await listenNotify(address);
      const config = path.join(dir, 'agent.yaml');
      // The file names a socket the flag overrides, and a state dir that is used.
      await writeFile(config, `socket: ${path.join(dir, 'from-file.sock')}\nstateDir: ${path.join(dir, `state-${kind}`)}\nlogLevel: info\n`);
      const socket = path.join(dir, `agent-${kind}.sock`);
      try {
        const agent = await startAgent({
          netns: ns[0]!, socket, stateDir: path.join(dir, `state-${kind}`),
          extraArgs: ['--config', config], env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000' },
        });
        await eventually('READY=1 and two WATCHDOG=1', () => notify.messages().filter((m) => m === 'WATCHDOG=1').length >= 2);
        expect(notify.messages()[0]).toBe('READY=1');
        expect(agent.logs()).toContain(`"socket":"${socket}"`);
        expect(await agent.stop()).toBe(0);
        await eventually('STOPPING=1', () => notify.messages().includes('STOPPING=1'));
      } finally {
        await notify.close();
      }
    });
  }

  it('serves reflection: the NodeAgent service is listed', async () => {
    const socket = path.join(dir, 'reflect.sock');
    const agent = await startAgent({ netns: ns[0]!, socket, stateDir: path.join(dir, 'state-reflect') });
    try {
      const def = protoLoader.loadSync('grpc/reflection/v1alpha/reflection.proto', {
        includeDirs: [path.resolve(import.meta.dirname, '../../node_modules/@grpc/reflection/build/proto')],
      });
      const pkg = grpc.loadPackageDefinition(def) as unknown as {
        grpc: { reflection: { v1alpha: { ServerReflection: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, { listServicesResponse?: { service: { name: string }[] } }> } } } };
      };
      const client = new pkg.grpc.reflection.v1alpha.ServerReflection(`unix://${socket}`, grpc.credentials.createInsecure());
      const names = await new Promise<string[]>((resolve, reject) => {
        const stream = client.ServerReflectionInfo();
        stream.on('data', (m) => {
          resolve((m.listServicesResponse?.service ?? []).map((s: { name: string }) => s.name));
          stream.end();
        });
        stream.on('error', reject);
        stream.write({ listServices: '*' });
      });
      client.close();
      expect(names).toContain('hostnet.v1.NodeAgent');
    } finally {
      await agent.stop();
    }
  });
});
