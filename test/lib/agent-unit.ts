// `systemd-analyze verify` on hostnet's unit, made strict: it exits 0 on unknown keys and bad
// values (it only warns), so any line it prints about the unit counts as a problem. The unit's
// ExecStart=/usr/bin/hostnet-agent need not exist here: a copy runs the built agent via node.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export const UNIT_PATH = path.resolve(import.meta.dirname, '../../systemd/hostnet-agent.service');
export const AGENT_MAIN = path.resolve(import.meta.dirname, '../../dist/agent/main.js');

/** The unit's text with ExecStart pointing at an existing binary. */
export function runnableCopy(text: string): string {
  return text.replace(/^ExecStart=\/usr\/bin\/hostnet-agent/m, `ExecStart=${process.execPath} ${AGENT_MAIN}`);
}

/** Every problem systemd-analyze reports for the unit text ([] when it passes). */
export async function verifyUnitText(text: string, name = 'hostnet-agent.service'): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-unit-'));
  try {
    const file = path.join(dir, name);
    await writeFile(file, text);
    const r = await execa('systemd-analyze', ['verify', file], { reject: false, all: true, env: { SYSTEMD_LOG_COLOR: '0' } });
    // Not skipped when missing: a CI machine without it would otherwise pass unchecked.
    if (r.failed && r.exitCode === undefined) return [`systemd-analyze cannot run (${r.shortMessage}); install Debian's systemd package`];
    const lines = (r.all ?? '').split('\n').filter((l) => l.trim() !== '');
    if (r.exitCode !== 0 && lines.length === 0) lines.push(`systemd-analyze exited ${r.exitCode}`);
    return lines;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function readUnit(): Promise<string> {
  return readFile(UNIT_PATH, 'utf8');
}
