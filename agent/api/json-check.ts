// Checks a parsed YAML/JSON value against the proto3 JSON mapping of a message before
// fromJSON sees it: one problem per bad field, "path: what was expected, got what".
// null stands for "not set", as in the proto3 JSON mapping.
import { describeValue } from './echo.js';
import { MESSAGES, type FieldShape, type FieldType, type MessageName } from './json-shape.js';

const UINT32_MAX = 0xffff_ffff;
/** uint64 fields are JavaScript numbers here (ts-proto forceLong=number): beyond 2^53-1 they would round. */
const UINT64_MAX = Number.MAX_SAFE_INTEGER;

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/** Every problem of `value` as message `name`, e.g. "networks[0].mtu: expected an integer 0..4294967295, got -1". */
export function checkMessage(value: unknown, name: MessageName, path = ''): string[] {
  const out: string[] = [];
  checkMapping(value, name, path, out);
  return out;
}

function checkMapping(value: unknown, name: MessageName, path: string, out: string[]): void {
  if (!isMapping(value)) {
    out.push(`${path || 'the document'}: expected a mapping (${fieldList(name)}), got ${describeValue(value)}`);
    return;
  }
  const fields = MESSAGES[name];
  const seen = new Map<string, string>();
  const oneofs = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    const here = join(path, key);
    const field = fields.find((x) => x.json === key || x.proto === key);
    if (!field) {
      out.push(`${here}: unknown field (${suggest(key, fields) ?? `expected ${fieldList(name)}`})`);
      continue;
    }
    const first = seen.get(field.json);
    if (first !== undefined) {
      out.push(`${here}: given twice (also as ${first})`);
      continue;
    }
    seen.set(field.json, key);
    if (v === null || v === undefined) continue;
    if (field.oneof) {
      const other = oneofs.get(field.oneof);
      if (other !== undefined) {
        const members = fields.filter((x) => x.oneof === field.oneof).map((x) => x.json);
        out.push(`${path || 'the document'}: ${other} and ${key} are mutually exclusive (give one of ${members.join(', ')})`);
        continue;
      }
      oneofs.set(field.oneof, key);
    }
    checkField(v, field, here, out);
  }
}

function checkField(value: unknown, field: FieldShape, path: string, out: string[]): void {
  if (!field.repeated) {
    checkValue(value, field.type, path, out);
    return;
  }
  if (!Array.isArray(value)) {
    out.push(`${path}: expected a list${field.type.kind === 'message' ? ` of mappings (${field.type.name})` : ` of ${typeText(field.type)}s`}, got ${describeValue(value)}`);
    return;
  }
  value.forEach((item, i) => checkValue(item, field.type, `${path}[${i}]`, out));
}

function checkValue(value: unknown, type: FieldType, path: string, out: string[]): void {
  switch (type.kind) {
    case 'message':
      checkMapping(value, type.name, path, out);
      return;
    case 'string':
      if ('integerAllowed' in type && Number.isInteger(value)) return;
      if (typeof value !== 'string') out.push(`${path}: expected a string, got ${describeValue(value)}${typeof value === 'number' ? ' (quote it)' : ''}`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') out.push(`${path}: expected true or false, got ${describeValue(value)}`);
      return;
    case 'uint32':
    case 'uint64': {
      const max = type.kind === 'uint32' ? UINT32_MAX : UINT64_MAX;
      // The proto3 JSON mapping also allows integers as decimal strings.
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,20}$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n) || n < 0 || n > max) out.push(`${path}: expected an integer 0..${max}, got ${describeValue(value)}`);
      return;
    }
    case 'enum': {
      const names = Object.keys(type.values);
      const ok = typeof value === 'string' ? names.includes(value) : typeof value === 'number' && Object.values(type.values).includes(value);
      if (!ok) out.push(`${path}: expected ${names.filter((n) => type.values[n] !== 0).join(' or ')}, got ${describeValue(value)}`);
      return;
    }
  }
}

function typeText(type: FieldType): string {
  if (type.kind === 'uint32' || type.kind === 'uint64') return 'integer';
  if (type.kind === 'bool') return 'boolean';
  return type.kind === 'enum' ? type.name : type.kind;
}

function fieldList(name: MessageName): string {
  const fields = MESSAGES[name];
  return fields.length ? `fields ${fields.map((x) => x.json).join(', ')}` : 'an empty mapping {}';
}

/** "did you mean X?" for a key within two edits of a field (ignoring case, '_' and '-'). */
function suggest(key: string, fields: readonly FieldShape[]): string | null {
  const norm = (t: string): string => t.replace(/[-_]/g, '').toLowerCase();
  const k = norm(key);
  if (k.length > 64) return null;
  const hit = fields.find((x) => distance(norm(x.json), k) <= 2);
  return hit ? `did you mean ${hit.json}?` : null;
}

/** Levenshtein distance (short strings only). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
