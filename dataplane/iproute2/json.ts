// Small readers for `ip -j` output, which arrives as `unknown`: a missing or mistyped field
// reads as undefined instead of spreading `any` through the parser.
export type Json = Record<string, unknown>;

export function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

export function str(o: Json | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** Numbers, and the numeric strings `ip -N` prints for tables, protocols and scopes. */
export function num(o: Json | undefined, key: string): number | undefined {
  const v = o?.[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

export function bool(o: Json | undefined, key: string): boolean | undefined {
  const v = o?.[key];
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return undefined;
}

export function strings(o: Json | undefined, key: string): string[] {
  const v = o?.[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function objects(v: unknown): Json[] {
  return Array.isArray(v) ? v.map(obj).filter((x): x is Json => x !== undefined) : [];
}
