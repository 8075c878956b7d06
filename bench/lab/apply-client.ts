// A control plane's warm connection for bench/lab: one gRPC channel over mutual TLS to an agent,
// kept open, that applies desired-state files on request and says when each Apply left and when
// its answer came. Runs in the lab's control namespace (the parent starts it with ip netns exec);
// hostnetctl cannot say when it sent its Apply (process start and TLS handshake come first).
//   node dist/bench/lab/apply-client.js --server HOST:PORT --cert F --key F --ca F
// stdin: one JSON desired-state file per line; stdout: {"ready":true} once connected, then one
// line per file: {"sentAt":ms,"returnedAt":ms,"generation":n} or {"error":"..."} (epoch ms).
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { call, connectRemote } from '../../agent/cli/client.js';

/** Epoch ms of the wall clock, as ping -D stamps its answers (not the monotonic clock: it may drift from it). */
const now = (): number => Date.now();
const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

async function main(): Promise<void> {
  const { values: v } = parseArgs({ options: { server: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' } } });
  if (!v.server || !v.cert || !v.key || !v.ca) throw new Error('apply-client: --server, --cert, --key and --ca are required');
  const client = connectRemote({ server: v.server, certFile: v.cert, keyFile: v.key, caFile: v.ca });
  // The TLS handshake happens here, not in the first timed Apply.
  await call(client, client.getStatus, {}, v.server);
  say({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    const file = line.trim();
    if (!file) continue;
    try {
      const state = DesiredState.fromJSON(JSON.parse(await readFile(file, 'utf8')));
      const sentAt = now();
      const res = await call(client, client.apply, { state, dryRun: false }, v.server);
      say({ sentAt, returnedAt: now(), generation: res.generation });
    } catch (err) {
      say({ error: `apply ${file} to ${v.server}: ${(err as Error).message}` });
    }
  }
  client.close();
}

main().catch((err: unknown) => {
  say({ error: (err as Error).message });
  process.exitCode = 1;
});
