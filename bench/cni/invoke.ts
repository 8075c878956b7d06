// A CNI plugin invoked exactly as a container runtime invokes it: one process, CNI_* in its
// environment, the network configuration on stdin, the result (or the spec's error JSON) on
// stdout; timed from just before the spawn to the process's exit, which is the latency the
// runtime waits for. Written for bench/cni because agent/testing has no runtime helper (yet);
// no test framework and nothing of test/ here.
import { spawn } from 'node:child_process';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

export interface Invocation {
  /** The plugin's argv: the binary, then its arguments (e.g. [node, main.js]). */
  argv: string[];
  /** CNI_* and anything else. */
  env: Record<string, string>;
  /**
   * Also pass the runner's own environment, as libcni does (its AsEnv() starts from
   * os.Environ()); else the plugin gets PATH and `env` only. It matters for Node: e.g.
   * NODE_EXTRA_CA_CERTS makes every start read and parse a CA bundle.
   */
  inheritEnv: boolean;
  /** The network configuration, written to stdin. */
  stdin: string;
  cwd?: string;
  timeoutMs?: number;
}

export interface Outcome {
  /** Spawn -> exit, ms. */
  ms: number;
  /** Exit code, or -1 when killed by a signal (the timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a CNI invocation; CNI_ARGS as kubelet's runtimes spell it for a pod. */
export function cniEnv(o: { command: CniCommand; containerId: string; netns: string; ifName: string; cniPath: string; podName?: string }): Record<string, string> {
  const env: Record<string, string> = {
    CNI_COMMAND: o.command,
    CNI_CONTAINERID: o.containerId,
    CNI_NETNS: o.netns,
    CNI_IFNAME: o.ifName,
    CNI_PATH: o.cniPath,
  };
  if (o.podName) env.CNI_ARGS = `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${o.podName};K8S_POD_INFRA_CONTAINER_ID=${o.containerId}`;
  return env;
}

export function invoke(inv: Invocation): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = inv.argv;
    if (!file) {
      reject(new Error('invoke plugin: empty argv'));
      return;
    }
    const t0 = performance.now();
    const child = spawn(file, args, {
      env: inv.inheritEnv ? { ...process.env, ...inv.env } : { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...inv.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(inv.cwd ? { cwd: inv.cwd } : {}),
    });
    let ms = 0;
    let code = -1;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // A plugin may exit without reading its configuration (VERSION, a crash): EPIPE is its answer.
    child.stdin.on('error', () => undefined);
    child.stdin.end(inv.stdin);
    const timer = setTimeout(() => {
      if (child.pid !== undefined) child.kill('SIGKILL');
    }, inv.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`invoke plugin ${inv.argv.join(' ')} (${inv.env.CNI_COMMAND ?? '-'} ${inv.env.CNI_CONTAINERID ?? ''}): ${err.message}`));
    });
    child.on('exit', (c) => {
      ms = performance.now() - t0;
      code = c ?? -1;
      clearTimeout(timer);
    });
    // Resolved once the pipes are drained too, so the whole result is there.
    child.on('close', () => resolve({ ms, code, stdout, stderr }));
  });
}
