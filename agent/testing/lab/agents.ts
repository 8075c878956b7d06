// The lab's hostnet-agent processes: `ip netns exec <host> node dist/agent/main.js ...` (so its
// --listen address, its FRR and everything it runs are in the host's namespace), detached, its
// output in <dir>/hN/agent.log and its pid in <dir>/hN/agent.pid, so that a lab left up
// (`npm run lab -- --keep`) can be stopped later by another process, by pid.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { AGENT_JS } from '../launch.js';

export interface LabAgent {
  pid: number;
  /** Resolves when the process exits (only for agents this process started). */
  exited: Promise<void>;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's argv, or null when it is gone. */
async function cmdline(pid: number): Promise<string[] | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a);
  } catch {
    return null;
  }
}

/**
 * Starts host `ns`'s agent with `args` and waits (up to `timeoutMs`) for its "converged after
 * start" line. `ip netns exec` execs node in place: the pid is the agent's own.
 */
export async function startLabAgent(ns: string, args: string[], files: { log: string; pidFile: string }, timeoutMs = 30_000): Promise<LabAgent> {
  const out = openSync(files.log, 'a');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT_JS, ...args], { stdio: ['ignore', out, out], detached: true });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`lab: start hostnet-agent in ${ns}: spawn failed`);
  child.unref();
  let gone = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    gone = true;
    resolve();
  }));
  await writeFile(files.pidFile, `${pid}\n`);
  const startText = (await readFile(files.log, 'utf8').catch(() => '')).length;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await readFile(files.log, 'utf8').catch(() => '')).slice(startText);
    if (text.includes('"converged after start"')) return { pid, exited };
    if (gone) throw new Error(`lab: hostnet-agent in ${ns} exited while starting; its log (${files.log}) ends:\n${text.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`lab: hostnet-agent in ${ns} not converged after ${timeoutMs} ms; its log (${files.log}) ends:\n${text.slice(-3000)}`);
    await pause(50);
  }
}

/** The pid in a host's pid file if that process is still a hostnet-agent started with `socket`. */
export async function runningAgentPid(pidFile: string, socket: string): Promise<number | null> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const argv = await cmdline(pid);
  // The pid may have been reused since: only an agent with this lab's socket is ours.
  return argv && argv.some((a) => a.endsWith('agent/main.js')) && argv.includes(socket) ? pid : null;
}

/** Sends `signal`, then SIGKILL after `graceMs`; returns once the process is gone. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    // A child of this process stays a zombie (alive to kill 0) until reaped: /proc says.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!stat || / Z /.test(stat)) return;
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await pause(20);
  }
}

export async function removePidFile(pidFile: string): Promise<void> {
  await rm(pidFile, { force: true });
}
