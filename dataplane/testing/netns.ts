// Scratch network namespaces for tests and benchmarks: uniquely named (<prefix>[label-]<pid>-<n>),
// tracked from before they exist, and removed by name, also when the process exits without
// cleaning up. No test framework here: test/lib/netns.ts adds vitest hooks on top.
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';

export interface NetnsOptions {
  /** Extra word in the name, e.g. a test file's short name. */
  label?: string;
  /** Bring loopback up (default true). */
  loopback?: boolean;
  /** Leave IPv6 on (default true); off keeps autoconfiguration from running in the background. */
  ipv6?: boolean;
}

export class NetnsPool {
  private counter = 0;
  private readonly live = new Set<string>();

  constructor(readonly prefix: string) {
    if (!/^[a-z][a-z0-9]*-$/.test(prefix)) throw new Error(`netns prefix "${prefix}": want lowercase letters/digits ending in "-"`);
    // Last resort if the process exits without running its cleanup (synchronous: 'exit' cannot wait).
    process.once('exit', () => {
      for (const name of this.live) {
        try {
          execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
    });
  }

  async create(o: NetnsOptions = {}): Promise<string> {
    const name = `${this.prefix}${o.label ? `${o.label}-` : ''}${process.pid}-${++this.counter}`;
    this.live.add(name); // tracked before it exists, so a half-made one is still removed
    await execa('ip', ['netns', 'add', name]);
    if (o.loopback ?? true) await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    if (o.ipv6 === false) {
      await execa('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    return name;
  }

  async destroy(name: string): Promise<void> {
    if (!name.startsWith(this.prefix)) throw new Error(`delete netns "${name}": not one of ours (prefix ${this.prefix})`);
    await execa('ip', ['netns', 'del', name], { reject: false });
    this.live.delete(name);
  }

  /** Removes every namespace this pool created and has not removed yet. */
  async destroyAll(): Promise<void> {
    await Promise.all([...this.live].map((n) => this.destroy(n)));
  }
}
