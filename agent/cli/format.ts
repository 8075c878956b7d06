// kubectl-like output: aligned columns with upper-case headers, short ages ("5s", "3m", "2h",
// "4d"), and the same data as JSON or YAML for scripts.
import YAML from 'yaml';
import { ConditionStatus, type Condition } from '../api/gen/hostnet/v1/status.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function age(since: Date | undefined, now = new Date()): string {
  if (!since) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function statusWord(s: ConditionStatus | undefined): string {
  switch (s) {
    case ConditionStatus.CONDITION_STATUS_TRUE: return 'True';
    case ConditionStatus.CONDITION_STATUS_FALSE: return 'False';
    case ConditionStatus.CONDITION_STATUS_UNKNOWN: return 'Unknown';
    default: return '-';
  }
}

export function find(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

/** The oldest transition: how long the agent has known the resource in its present shape. */
export function oldest(conditions: readonly Condition[]): Date | undefined {
  const times = conditions.map((c) => c.lastTransitionTime).filter((t): t is Date => t instanceof Date);
  return times.length ? new Date(Math.min(...times.map((t) => t.getTime()))) : undefined;
}

export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : YAML.stringify(value).trimEnd();
}

export function conditionsTable(conditions: readonly Condition[], now = new Date()): string {
  return table(['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
    conditions.map((c) => [c.type, statusWord(c.status), c.reason, age(c.lastTransitionTime, now), c.message]));
}
