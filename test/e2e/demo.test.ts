// The agent demo (npm run demo) as a new user runs it: the pods get their addresses and routes
// from the agent, with no DHCP client in them, and reach the gateway. The demo makes and
// removes its own namespaces (prefix hndemo-<pid>); its output carries `ip -n POD` and ping.
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDist } from '../lib/agent-process.js';

const DEMO_JS = path.resolve(import.meta.dirname, '../../dist/agent/demo/sandbox.js');

describe('the agent demo', () => {
  it('gives the pods their addresses without a DHCP client and leaves nothing behind', async () => {
    await buildDist();
    const r = await execa(process.execPath, [DEMO_JS], { reject: false, all: true, timeout: 60_000 });
    expect(r.exitCode, r.all).toBe(0);
    const out = r.all ?? '';
    expect(out).not.toMatch(/udhcpc|dhclient/);
    // `ip -n POD -br -4 addr show net1` of both pods, as the demo printed it.
    expect(out).toMatch(/net1@\S+\s+UP\s+192\.168\.10\.\d+\/24/);
    expect(out).toMatch(/net1@\S+\s+UP\s+192\.168\.10\.72\/24/);
    expect(out).toMatch(/default via 192\.168\.10\.1 dev net1 proto 104/);
    expect(out).toMatch(/2 packets transmitted, 2 received/);
    const left = await execa('ip', ['netns', 'list']);
    expect(left.stdout).not.toMatch(/hndemo-/);
  }, 90_000);
});
