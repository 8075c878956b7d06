// `ip -d` prints a TAP's owner and group as names when the system knows them (getpwuid);
// the Link type wants the numbers back. Local files only: a name only NSS knows stays null.
import { readFileSync } from 'node:fs';

function lookup(file: string, name: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [entry, , id] = line.split(':');
    if (entry === name && id !== undefined && /^\d+$/.test(id)) return Number(id);
  }
  return null;
}

export function ownerId(kind: 'user' | 'group', value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return null;
  if (/^\d+$/.test(value)) return Number(value);
  return lookup(kind === 'user' ? '/etc/passwd' : '/etc/group', value);
}
