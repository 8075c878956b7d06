// Plain-text tables in Markdown form: readable in a terminal and pasteable into the README.
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export function ms(value: number | null): string {
  if (value === null) return 'n/a';
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}

export function ratio(value: number | null, reference: number | null): string {
  if (value === null || reference === null || reference === 0) return 'n/a';
  return `${(value / reference).toFixed(2)}x`;
}
