// An agent restart under traffic, as the routed e2e files check it: a ping loop runs while the
// agent stops (SIGTERM, exit 0) or crashes (kill -9) and comes back. Hostnet's routes must be the
// same with the agent gone and after it is back, the loop may lose one ping at most, and the new
// agent must not have deleted a host route on its way up.
import { expect } from 'vitest';
import type { AgentSession } from './agent-session.js';

export type RestartHow = 'SIGTERM' | 'kill -9';

interface PingLoop { stop(): Promise<{ sent: number; received: number }> }

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function restartUnderPing(session: AgentSession, how: RestartHow, opts: {
  /** hostnet's routes as the test reads them from the kernel. */
  routes: () => Promise<string[]>;
  /** Starts the ping loop. */
  loop: () => PingLoop;
}): Promise<void> {
  const before = await opts.routes();
  const loop = opts.loop();
  await pause(500);
  if (how === 'SIGTERM') expect(await session.agent!.stop()).toBe(0);
  else await session.agent!.kill9();
  expect(await opts.routes()).toEqual(before);
  await session.reboot();
  await pause(500);
  const { sent, received } = await loop.stop();
  expect(sent).toBeGreaterThan(5);
  expect(sent - received, `${received}/${sent}`).toBeLessThanOrEqual(1);
  expect(await opts.routes()).toEqual(before);
  expect(session.agent!.logs()).not.toMatch(/delete host route/);
}
