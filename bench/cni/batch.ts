// One batch of plugin runs, one after another (each waits for the previous exit) or all at once
// (the runtime starting N pods together). Each run is agent/testing/cni-runtime's execPlugin:
// the plugin found by type in CNI_PATH and exec'd with CNI_* plus this process's own environment
// (as libcni does), the configuration on stdin, timed from spawn to exit. Runs inside
// runner-main.ts, a process of its own placed in the "host" namespace the plugins should see.
import { execPlugin, type PluginRun } from '../../agent/testing/cni-runtime.js';

export type Mode = 'sequential' | 'parallel';
export type RunSpec = Parameters<typeof execPlugin>[0];

export interface Job {
  mode: Mode;
  runs: RunSpec[];
}

export interface BatchResult {
  outcomes: PluginRun[];
  /** First spawn -> last exit, ms. */
  wallMs: number;
}

export async function runBatch(job: Job): Promise<BatchResult> {
  const t0 = performance.now();
  let outcomes: PluginRun[];
  if (job.mode === 'parallel') {
    outcomes = await Promise.all(job.runs.map((r) => execPlugin(r)));
  } else {
    outcomes = [];
    for (const r of job.runs) outcomes.push(await execPlugin(r));
  }
  return { outcomes, wallMs: performance.now() - t0 };
}
