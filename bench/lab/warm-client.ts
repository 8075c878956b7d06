// The parent side of apply-client.ts: started in the lab's control namespace against one host,
// answers each apply(file) with when the Apply left and when its answer came.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { AGENT_PORT } from '../../agent/testing/lab/topology.js';
import type { Lab } from '../../agent/testing/lab/lab.js';

const CLIENT_JS = path.join(import.meta.dirname, 'apply-client.js');

export interface ApplyTimes {
  sentAt: number;
  returnedAt: number;
  generation: number;
}

export class WarmClient {
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly exited: Promise<void>;
  private lastErr = '';
  private gone = false;

  private constructor(private readonly child: ChildProcess, private readonly lines: Interface, readonly host: number) {
    lines.on('line', (l) => this.waiting.shift()?.(l));
    child.stderr!.on('data', (d: Buffer) => {
      this.lastErr = `${this.lastErr}${d.toString()}`.slice(-2000);
    });
    this.exited = new Promise((r) => child.once('exit', () => {
      this.gone = true;
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: `apply-client exited: ${this.lastErr.trim()}` }));
      r();
    }));
  }

  static async start(lab: Lab, host: number): Promise<WarmClient> {
    const child = spawn('ip', ['netns', 'exec', lab.topology.ctlNs, process.execPath, CLIENT_JS, '--server', `${lab.hostIp(host)}:${AGENT_PORT}`,
      '--cert', lab.pki.clientCert, '--key', lab.pki.clientKey, '--ca', lab.pki.caFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    const c = new WarmClient(child, createInterface({ input: child.stdout! }), host);
    const first = JSON.parse(await c.next()) as { ready?: boolean; error?: string };
    if (!first.ready) {
      await c.close();
      throw new Error(`bench/lab: the warm mTLS client to h${host}: ${first.error ?? 'not ready'}`);
    }
    return c;
  }

  private next(): Promise<string> {
    return new Promise((r) => this.waiting.push(r));
  }

  async apply(file: string): Promise<ApplyTimes> {
    if (this.gone) throw new Error(`bench/lab: the warm mTLS client to h${this.host} has exited: ${this.lastErr.trim()}`);
    const answer = this.next();
    this.child.stdin!.write(`${file}\n`);
    const r = JSON.parse(await answer) as Partial<ApplyTimes> & { error?: string };
    if (r.error || r.sentAt === undefined) throw new Error(`bench/lab: ${r.error ?? 'no answer'}`);
    return r as ApplyTimes;
  }

  /** Ends its input (it exits); by pid with SIGTERM if it has not within 5 s. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGTERM'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
