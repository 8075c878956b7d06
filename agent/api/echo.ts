// Bounds on what an error repeats of its input: a 1 MB name or 10,000 problems must not become
// a 1 MB status message (gRPC drops it past about 300 KB) or a 1 MB log line.

/** At most this many characters per problem line. */
export const MAX_LINE = 300;
/** At most this many problem lines per error; the rest are counted. */
export const MAX_PROBLEMS = 20;

/** `text` cut in the middle to at most `max` characters: the start names the field, the end states the rule. */
export function clip(text: string, max = MAX_LINE): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.4);
  const tail = max - head - 30;
  return `${text.slice(0, head)}…[${text.length - head - tail} characters cut]…${text.slice(text.length - tail)}`;
}

/** The first MAX_PROBLEMS lines, each clipped, then "… and N more". */
export function capLines(lines: readonly string[], max = MAX_PROBLEMS): string[] {
  const shown = lines.slice(0, max).map((l) => clip(l));
  if (lines.length > max) shown.push(`… and ${lines.length - max} more`);
  return shown;
}

/** A short description of a value for "got ..." (type and a bounded preview). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${value.length} items)`;
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${JSON.stringify(value.slice(0, 40)).slice(0, -1)}…" (${value.length} characters)` : JSON.stringify(value);
    return `a string (${shown})`;
  }
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return `${value}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
