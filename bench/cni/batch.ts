// One batch of plugin invocations, one after another (each waits for the previous exit) or all
// at once (the runtime starting 100 pods together). Runs inside runner-main.ts, a process of
// its own placed in the "host" namespace the plugins should see.
import { invoke, type Invocation, type Outcome } from './invoke.js';

export type Mode = 'sequential' | 'parallel';

export interface Job {
  mode: Mode;
  invocations: Invocation[];
}

export interface BatchResult {
  outcomes: Outcome[];
  /** First spawn -> last exit, ms. */
  wallMs: number;
}

export async function runBatch(job: Job): Promise<BatchResult> {
  const t0 = performance.now();
  let outcomes: Outcome[];
  if (job.mode === 'parallel') {
    outcomes = await Promise.all(job.invocations.map((inv) => invoke(inv)));
  } else {
    outcomes = [];
    for (const inv of job.invocations) outcomes.push(await invoke(inv));
  }
  return { outcomes, wallMs: performance.now() - t0 };
}
