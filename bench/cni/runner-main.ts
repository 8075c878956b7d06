// The runtime's side of bench/cni as a process of its own: reads a Job (JSON) on stdin, runs it,
// prints the BatchResult (JSON) on stdout. main.ts starts it under `ip netns exec <host netns>`
// so every plugin starts in that namespace (the reference bridge plugin creates its bridge and
// host-side veths there, never in the real host's), with the environment the plugins should
// inherit from their "runtime" (execPlugin passes its own on, as libcni does), and every plugin
// family is spawned by the same idle process, so none is timed from a busier parent.
import { runBatch, type Job } from './batch.js';

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString();
  return text;
}

async function main(): Promise<void> {
  const job = JSON.parse(await readStdin()) as Job;
  const result = await runBatch(job);
  process.stdout.write(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(`bench/cni runner: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});
