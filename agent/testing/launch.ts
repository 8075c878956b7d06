// The real hostnet-agent process, started and stopped by pid, with no test framework attached:
// used by the e2e helpers (test/lib/agent-process.ts, which adds vitest cleanup) and by
// bench/agent, which must not import test/.
import { execa, type ResultPromise } from 'execa';
import path from 'node:path';
import { projectRoot } from '../../dataplane/testing/project-root.js';

export const AGENT_JS = path.join(projectRoot(import.meta.dirname), 'dist/agent/main.js');

export interface Agent {
  pid: number;
  child: ResultPromise;
  /** Everything the agent logged (pino JSON lines) and printed on stderr so far. */
  logs(): string;
  gone(): boolean;
}

const running = new Map<number, ResultPromise>();
const pause = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

export function spawnAgent(netns: string, socket: string, stateDir: string, extraArgs: string[] = [], env?: Record<string, string>): Agent {
  const child = execa(process.execPath, [
    AGENT_JS, '--netns', netns, '--socket', socket, '--state-dir', stateDir,
    '--config', '/dev/null', '--resync-interval', '0', '--log-level', 'debug', ...extraArgs,
  ], { reject: false, all: true, buffer: false, ...(env ? { env } : {}) });
  const pid = child.pid!;
  running.set(pid, child);
  let text = '';
  let gone = false;
  child.all?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  void child.then(() => {
    gone = true;
    running.delete(pid);
  });
  return { pid, child, logs: () => text, gone: () => gone };
}

/** Waits for `needle` in the agent's output after offset `from`; returns where it starts. */
export async function waitForLog(agent: Agent, needle: string, from: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = agent.logs().indexOf(needle, from);
    if (at >= 0) return at;
    if (agent.gone()) throw new Error(`agent exited while waiting for ${needle}:\n${agent.logs().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`agent: no ${needle} after ${timeoutMs} ms:\n${agent.logs().slice(-4000)}`);
    await pause(2);
  }
}

/** SIGTERM, then SIGKILL after 15 s. */
export async function stopAgent(agent: Agent): Promise<void> {
  if (agent.gone()) return;
  try {
    process.kill(agent.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const killer = setTimeout(() => {
    try {
      process.kill(agent.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 15_000);
  await agent.child;
  clearTimeout(killer);
}

/** SIGKILL to every agent this process started and has not seen exit. */
export async function killAll(): Promise<void> {
  for (const [pid, p] of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await p.catch(() => undefined);
  }
  running.clear();
}
