// A scapy sniffer in a workload namespace that is capturing before the caller makes traffic.
// A fixed pause for scapy's start-up is not enough on a loaded machine (its import alone can take
// seconds): the script passes READY_CALLBACK as sniff()'s started_callback, and start() returns
// once that line is out.
import { execa, type ResultPromise } from 'execa';
import { eventually } from './agent-state.js';

const PY = '/usr/bin/python3';

/** For the script's sniff(..., started_callback=READY_CALLBACK). */
export const READY_CALLBACK = "lambda: print('READY', flush=True)";

export interface Sniffer {
  /** The lines the script printed after READY, once it exited (its sniff timed out). */
  lines(): Promise<string[]>;
}

/** Runs `script` with `args` in `netns`; `loops` gets the process (stopped by the test's cleanup). */
export async function startSniffer(netns: string, script: string, args: string[], loops: ResultPromise[]): Promise<Sniffer> {
  const p = execa('ip', ['netns', 'exec', netns, PY, '-c', script, ...args], { reject: false });
  loops.push(p);
  let out = '';
  p.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await eventually(`the sniffer in ${netns} captures`, async () => out.includes('READY\n') || p.exitCode !== null, 30_000);
  if (!out.includes('READY\n')) throw new Error(`sniffer in ${netns} exited before capturing: ${(await p).stderr}`);
  return { lines: async () => (await p).stdout.split('\n').filter((l) => l !== '' && l !== 'READY') };
}
