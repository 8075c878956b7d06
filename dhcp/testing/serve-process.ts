// Runs dhcp/serve-main (the compiled one: `npm run build` first) as a child process and reads
// its pino JSON log: waits for "ready", asks for counters (SIGUSR1), stops it (SIGTERM) or
// kills it (SIGKILL), always by its own pid.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { projectRoot } from '../../dataplane/testing/project-root.js';
import type { NetworkDhcpConfig } from '../types.js';

export const PROJECT_ROOT = projectRoot(import.meta.dirname);
export const SERVE_MAIN = join(PROJECT_ROOT, 'dist/dhcp/serve-main.js');

export type LogLine = Record<string, unknown> & { msg?: string };

export interface ServeMainOptions {
  netns: string;
  device: string;
  config: NetworkDhcpConfig;
  /** Directory for the config file. */
  dir: string;
  leaseFile: string;
}

export class ServeMain {
  readonly lines: LogLine[] = [];
  private waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  private exited = false;
  private partial = '';

  private constructor(readonly proc: ResultPromise, readonly configFile: string) {
    proc.stdout?.on('data', (d: Buffer) => this.onData(d.toString()));
    void proc.finally(() => (this.exited = true));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  static async start(o: ServeMainOptions, timeoutMs = 15_000): Promise<ServeMain> {
    if (!existsSync(SERVE_MAIN)) throw new Error(`${SERVE_MAIN} is missing: run "npm run build" first`);
    const configFile = join(o.dir, `${o.config.network}.json`);
    await writeFile(configFile, JSON.stringify(o.config));
    const proc = execa('node', [...(process.env.HOSTNET_SERVE_NODE_ARGS?.split(' ').filter(Boolean) ?? []), SERVE_MAIN, '--netns', o.netns, '--interface', o.device, '--config', configFile, '--lease-file', o.leaseFile],
      { reject: false, buffer: { stdout: false, stderr: true }, stdin: 'ignore' });
    const s = new ServeMain(proc, configFile);
    try {
      await s.waitFor((l) => l.msg === 'ready', timeoutMs);
    } catch (err) {
      proc.kill('SIGKILL');
      const r = await proc;
      throw new Error(`serve-main did not get ready: ${String(err)}; stderr: ${String(r.stderr).slice(-2000)}`);
    }
    return s;
  }

  private onData(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(p) as LogLine;
      } catch {
        line = { msg: p };
      }
      if (this.lines.length < 10_000) this.lines.push(line);
      for (const w of [...this.waiters]) {
        if (w.test(line)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  }

  waitFor(test: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    return new Promise((resolveLine, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms (exited: ${this.exited})`)), timeoutMs);
      this.waiters.push({ test, resolve: (l) => { clearTimeout(t); resolveLine(l); } });
    });
  }

  /** The server's counters, via SIGUSR1 and its log. */
  async counters(timeoutMs = 10_000): Promise<LogLine> {
    const p = this.waitFor((l) => l.msg === 'counters', timeoutMs);
    this.proc.kill('SIGUSR1');
    return p;
  }

  /** Just the counters record of that log line. */
  async counterValues(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const c = (await this.counters(timeoutMs))['counters'];
    return typeof c === 'object' && c !== null ? (c as Record<string, unknown>) : {};
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(timeoutMs = 15_000): Promise<number | undefined> {
    if (this.exited) return (await this.proc).exitCode;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const r = await this.proc;
    clearTimeout(t);
    return r.exitCode;
  }

  async kill9(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.proc;
  }

  /** Resident memory of the server process, KiB (-1 once it is gone). */
  rssKiB(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : -1;
    } catch {
      return -1;
    }
  }
}
