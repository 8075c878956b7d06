// Runs the `ip` binary in one network namespace: JSON dumps, and write commands as one
// `ip -force -batch -` process per group of lines with each line's failure attributed back.
import { execa } from 'execa';
import { DataplaneError } from '../errors.js';
import { parseFailure } from './stderr.js';

/** How to start `ip` in a namespace. */
export interface IpInvocation {
  file: string;
  args: string[];
}

/**
 * Named namespaces use `ip -n NAME` (ip setns()es itself, no extra process). `ip -n` only
 * accepts names under /var/run/netns, so a path (e.g. /proc/PID/ns/net) goes through
 * `nsenter --net=PATH`, which is one exec more but no shell.
 */
export function ipInvocation(netns: string | null): IpInvocation {
  if (netns === null) return { file: 'ip', args: [] };
  if (!netns.includes('/')) return { file: 'ip', args: ['-n', netns] };
  return { file: 'nsenter', args: [`--net=${netns}`, '--', 'ip'] };
}

// iproute2's texts are matched in English.
const env = { LC_ALL: 'C', LANG: 'C' };

export type LineOutcome = { ok: true } | { ok: false; message: string };

/** Spawned `ip` processes so far (all handles): lets benchmarks check batching. */
export let ipProcessCount = 0;

function spawnFailure(inv: IpInvocation, result: { code?: string; message?: string }): DataplaneError {
  return new DataplaneError('run', inv.file, result.code ?? 'EIO', result.message ?? `could not run ${inv.file}`);
}

/** `ip -j -N ARGS`: parsed JSON (an array); a failure becomes a DataplaneError. */
export async function runJson(inv: IpInvocation, args: string[], op: string, object: string): Promise<unknown[]> {
  ipProcessCount++;
  const r = await execa(inv.file, [...inv.args, '-j', '-N', ...args], { env, reject: false, stripFinalNewline: false });
  if (r.exitCode === undefined) throw spawnFailure(inv, r);
  if (r.exitCode !== 0) throw failureError(op, object, r.stderr);
  const text = r.stdout.trim();
  if (text.length === 0) return [];
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed : [];
}

/** A failed command's stderr as a DataplaneError. */
export function failureError(op: string, object: string, text: string): DataplaneError {
  const { code, detail } = parseFailure(text);
  return code === 'EPERM'
    ? new DataplaneError(op, object, code, `${detail} (hostnet needs CAP_NET_ADMIN: run as root)`)
    : new DataplaneError(op, object, code, detail);
}

/**
 * A batch line must survive iproute2's own line splitting (utils.c makeargs/getcmdline):
 * words split on blanks, one level of '…' or "…" quoting, '#' starts a comment anywhere, a
 * trailing backslash continues the line. Arguments that cannot be expressed run on their own.
 */
function quoteForBatch(arg: string): string | null {
  if (arg.includes('#') || arg.includes('\n') || arg.endsWith('\\')) return null;
  if (arg.length > 0 && !/[\s'"]/.test(arg)) return arg;
  if (!arg.includes('"')) return `"${arg}"`;
  if (!arg.includes("'")) return `'${arg}'`;
  return null;
}

// After every command: a lookup of "." (never a valid device name) that fails without exiting,
// so "Command failed -:N" for these lines marks how far ip got. Many iproute2 errors call
// exit() (invarg, neigh failures), which -force does not survive; the markers tell which line
// that was and which lines never ran.
const MARKER = 'link show dev .';

/** Runs the lines in order; every line gets its own outcome. */
export async function runBatch(inv: IpInvocation, lines: string[][]): Promise<LineOutcome[]> {
  const outcomes: LineOutcome[] = [];
  let rest = lines;
  while (rest.length > 0) {
    const quoted = rest[0]!.map(quoteForBatch);
    if (quoted.some((q) => q === null)) {
      outcomes.push(await runSingle(inv, rest[0]!));
      rest = rest.slice(1);
      continue;
    }
    let n = 1;
    while (n < rest.length && rest[n]!.every((a) => quoteForBatch(a) !== null)) n++;
    const done = await runBatchProcess(inv, rest.slice(0, n));
    outcomes.push(...done);
    rest = rest.slice(done.length);
  }
  return outcomes;
}

async function runSingle(inv: IpInvocation, line: string[]): Promise<LineOutcome> {
  ipProcessCount++;
  const r = await execa(inv.file, [...inv.args, ...line], { env, reject: false });
  if (r.exitCode === undefined) throw spawnFailure(inv, r);
  return r.exitCode === 0 ? { ok: true } : { ok: false, message: r.stderr };
}

/** One process; returns outcomes for the lines it got through (at least one). */
async function runBatchProcess(inv: IpInvocation, lines: string[][]): Promise<LineOutcome[]> {
  const input = lines.map((l) => `${l.map((a) => quoteForBatch(a)!).join(' ')}\n${MARKER}\n`).join('');
  ipProcessCount++;
  const r = await execa(inv.file, [...inv.args, '-force', '-batch', '-'], {
    env, input, reject: false, stdout: 'ignore', maxBuffer: 64 * 1024 * 1024,
  });
  if (r.exitCode === undefined && r.signal === undefined) throw spawnFailure(inv, r);

  const failed = new Map<number, string>();
  let markers = 0;
  let pending: string[] = [];
  for (const text of r.stderr.split('\n')) {
    const m = /^Command failed .*:(\d+)$/.exec(text);
    if (!m) {
      pending.push(text);
      continue;
    }
    const lineNo = Number(m[1]);
    // Batch line 2k+1 is command k, line 2k+2 its marker.
    if (lineNo % 2 === 0) markers = Math.max(markers, lineNo / 2);
    else failed.set((lineNo - 1) / 2, pending.join('\n'));
    pending = [];
  }

  const outcomes: LineOutcome[] = [];
  for (let k = 0; k < markers; k++) {
    const message = failed.get(k);
    outcomes.push(message === undefined ? { ok: true } : { ok: false, message });
  }
  if (markers < lines.length) {
    // Command `markers` ended the process; the ones after it never ran and go to a new one.
    const why = pending.join('\n').trim();
    const message = why.length > 0 ? why : `ip ended (exit ${r.exitCode ?? r.signal}) without a message`;
    outcomes.push({ ok: false, message });
  }
  return outcomes;
}
