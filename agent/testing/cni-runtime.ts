// A container runtime's side of CNI (SPEC.md, "Execution protocol" and "Network configuration
// lists"), for tests and benchmarks (bench must not import test/): plugins are found by `type` in
// CNI_PATH and executed with CNI_* in their environment and the configuration on stdin; a
// conflist runs its plugins in order for ADD and CHECK and in reverse for DEL, each given the
// list's name and cniVersion, its capabilities' runtimeConfig, and the prevResult (ADD: the
// previous plugin's result; CHECK, DEL: the ADD's). GC passes cni.dev/valid-attachments.
// No test framework here.
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync } from 'node:fs';
import { mkdir, symlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../dataplane/testing/project-root.js';

export const CNI_PLUGIN_JS = path.join(projectRoot(import.meta.dirname), 'dist/agent/cni-plugin/main.js');
/** Where Debian's containernetworking-plugins installs the reference plugins. */
export const DEBIAN_CNI_DIR = '/usr/lib/cni';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
type Json = Record<string, unknown>;

/** One container interface (CNI's attachment key plus where it lives). */
export interface CniAttachmentRef {
  containerId: string;
  /** CNI_NETNS: a path, e.g. /var/run/netns/pod-1 */
  netns: string;
  ifName: string;
  /** CNI_ARGS, e.g. "IgnoreUnknown=1;IP=10.0.0.5" */
  args?: string;
}

export interface PluginRun {
  type: string;
  command: CniCommand;
  /** Exit status; -1 when killed by a signal (timeout). */
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: Json | undefined;
  /** Spawn to exit, ms. */
  ms: number;
}

export interface NetConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: Json[];
}

/**
 * A directory to put first in CNI_PATH holding `hostnet-cni` (a link to the compiled plugin,
 * made executable, as `npm install` would) so that runtimes find it by type.
 */
export async function hostnetCniBinDir(dir: string): Promise<string> {
  if (!existsSync(CNI_PLUGIN_JS)) throw new Error(`hostnet-cni not built: ${CNI_PLUGIN_JS} missing (npx tsc -p tsconfig.json)`);
  chmodSync(CNI_PLUGIN_JS, 0o755);
  await mkdir(dir, { recursive: true });
  const link = path.join(dir, 'hostnet-cni');
  await rm(link, { force: true });
  await symlink(CNI_PLUGIN_JS, link);
  return dir;
}

/** The executable for `type` in CNI_PATH, as libcni's FindInPath does. */
export function findPlugin(type: string, cniPath: readonly string[]): string {
  for (const dir of cniPath) {
    const file = path.join(dir, type);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(`CNI plugin "${type}" not found in CNI_PATH ${cniPath.join(':')}`);
}

/** Runs one plugin once: the exact exec a runtime does. */
export function execPlugin(o: {
  type: string; cniPath: readonly string[]; command: CniCommand; attachment?: CniAttachmentRef; config: Json; timeoutMs?: number;
}): Promise<PluginRun> {
  const file = findPlugin(o.type, o.cniPath);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CNI_')) env[k] = v;
  // The shebang's `env node` must find the node running us.
  env.PATH = `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  Object.assign(env, {
    CNI_COMMAND: o.command, CNI_PATH: o.cniPath.join(':'),
    ...(o.attachment ? {
      CNI_CONTAINERID: o.attachment.containerId, CNI_NETNS: o.attachment.netns, CNI_IFNAME: o.attachment.ifName,
      ...(o.attachment.args ? { CNI_ARGS: o.attachment.args } : {}),
    } : {}),
  });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let code = -1;
    let ms = 0;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.on('error', () => undefined); // a plugin may exit without reading stdin
    child.stdin.end(JSON.stringify(o.config));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 180_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`exec CNI plugin ${file} (${o.command} ${o.attachment?.containerId ?? ''}): ${err.message}`));
    });
    child.on('exit', (c) => {
      ms = performance.now() - t0;
      code = c ?? -1;
      clearTimeout(timer);
    });
    child.on('close', () => {
      let json: Json | undefined;
      try {
        const v: unknown = stdout.trim() ? JSON.parse(stdout) : undefined;
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) json = v as Json;
      } catch {
        json = undefined;
      }
      resolve({ type: o.type, command: o.command, code, stdout, stderr, json, ms });
    });
  });
}

/** What a conflist step ended with: the last plugin's run (the failing one, if any). */
export interface ListRun {
  ok: boolean;
  /** ADD: the result the runtime keeps (the last plugin's). */
  result: Json | undefined;
  runs: PluginRun[];
  /** The run that failed, if any. */
  failed: PluginRun | undefined;
}

/** A runtime: a CNI_PATH and the conflist steps. */
export class CniRuntime {
  constructor(readonly cniPath: readonly string[], private readonly timeoutMs = 180_000) {}

  /** The configuration one plugin of the list gets (the spec's injected fields). */
  pluginConfig(list: NetConfList, plugin: Json, extra: { prevResult?: Json | undefined; runtimeConfig?: Json | undefined; more?: Json }): Json {
    const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
    const rc = Object.fromEntries(Object.entries(extra.runtimeConfig ?? {}).filter(([k]) => caps[k] === true));
    const { capabilities: _c, ...rest } = plugin;
    return {
      ...rest, cniVersion: list.cniVersion, name: list.name,
      ...(Object.keys(rc).length ? { runtimeConfig: rc } : {}),
      ...(extra.prevResult ? { prevResult: extra.prevResult } : {}),
      ...(extra.more ?? {}),
    };
  }

  private async step(list: NetConfList, command: CniCommand, order: Json[], attachment: CniAttachmentRef | undefined,
    configFor: (plugin: Json, prev: Json | undefined) => Json, chainResults: boolean): Promise<ListRun> {
    const runs: PluginRun[] = [];
    let prev: Json | undefined;
    for (const plugin of order) {
      const type = String(plugin.type);
      const run = await execPlugin({ type, cniPath: this.cniPath, command, ...(attachment ? { attachment } : {}), config: configFor(plugin, prev), timeoutMs: this.timeoutMs });
      runs.push(run);
      if (run.code !== 0) return { ok: false, result: undefined, runs, failed: run };
      if (chainResults) prev = run.json;
    }
    return { ok: true, result: prev, runs, failed: undefined };
  }

  add(list: NetConfList, a: CniAttachmentRef, runtimeConfig?: Json): Promise<ListRun> {
    return this.step(list, 'ADD', list.plugins, a, (p, prev) => this.pluginConfig(list, p, { prevResult: prev, runtimeConfig }), true);
  }

  check(list: NetConfList, a: CniAttachmentRef, addResult: Json, runtimeConfig?: Json): Promise<ListRun> {
    return this.step(list, 'CHECK', list.plugins, a, (p) => this.pluginConfig(list, p, { prevResult: addResult, runtimeConfig }), false);
  }

  /** Reverse order; `addResult` may be missing (the spec allows DEL without it). */
  del(list: NetConfList, a: CniAttachmentRef, addResult?: Json, runtimeConfig?: Json): Promise<ListRun> {
    return this.step(list, 'DEL', [...list.plugins].reverse(), a, (p) => this.pluginConfig(list, p, { prevResult: addResult, runtimeConfig }), false);
  }

  gc(list: NetConfList, valid: { containerId: string; ifName: string }[]): Promise<ListRun> {
    const more = { 'cni.dev/valid-attachments': valid.map((v) => ({ containerID: v.containerId, ifname: v.ifName })) };
    return this.step(list, 'GC', list.plugins, undefined, (p) => this.pluginConfig(list, p, { more }), false);
  }

  status(list: NetConfList): Promise<ListRun> {
    return this.step(list, 'STATUS', list.plugins, undefined, (p) => this.pluginConfig(list, p, {}), false);
  }

  /** VERSION of one plugin type, asked with `cniVersion`. */
  version(type: string, cniVersion = '1.1.0'): Promise<PluginRun> {
    return execPlugin({ type, cniPath: this.cniPath, command: 'VERSION', config: { cniVersion }, timeoutMs: this.timeoutMs });
  }
}

/** A single-plugin configuration as a one-plugin list (what runtimes do with a .conf file). */
export function asList(conf: Json): NetConfList {
  const { cniVersion, name, ...plugin } = conf;
  return { cniVersion: String(cniVersion), name: String(name), plugins: [plugin] };
}
