// The event files of the test DHCPv6 clients (dhclient -6, dhcpcd -6): their event script
// records each event as one file, ev-<nanoseconds>.env in the client's directory, holding
// HN_REASON and the script's environment, written whole (tmp file, then mv). A test reads what
// the client itself was told from these files.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ClientEvent {
  reason: string;
  env: Record<string, string>;
}

/** The shell line of an event script that records the event in `dir`. */
export const recordEventLine = (dir: string): string =>
  `f="${dir}/ev-$(date +%s%N)"; { echo "HN_REASON=$reason"; env; } > "$f.tmp"; mv "$f.tmp" "$f.env"`;

/** The events recorded in `dir` so far, oldest first. */
export async function readClientEvents(dir: string): Promise<ClientEvent[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.env')).sort();
  const out: ClientEvent[] = [];
  for (const f of files) {
    const env: Record<string, string> = {};
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) env[line.slice(0, i)] = line.slice(i + 1).replace(/^'(.*)'$/, '$1');
    }
    out.push({ reason: env['HN_REASON'] ?? '', env });
  }
  return out;
}
