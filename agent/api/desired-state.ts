// Reading and writing the desired state in the proto3 JSON mapping, from YAML or JSON text.
// ts-proto's fromJSON is lenient (it ignores keys it does not know); an admin's typo such as
// `gatewayOnbridge: true` must not be silently dropped, so unknown keys are reported.
import YAML from 'yaml';
import { DesiredState } from './gen/hostnet/v1/resources.js';

export class DesiredStateParseError extends Error {
  override readonly name = 'DesiredStateParseError';
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n- ${problems.join('\n- ')}`}`);
  }
}

export type TextFormat = 'yaml' | 'json';

/** JSON is YAML, but JSON errors read better from JSON.parse. */
function parseText(text: string, format: TextFormat, source: string): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new DesiredStateParseError(source, [`not valid JSON: ${(err as Error).message}`]);
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new DesiredStateParseError(source, doc.errors.map((e) => `not valid YAML: ${e.message.split('\n')[0]}`));
  }
  return doc.toJS();
}

const camel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function isDefaultLike(value: unknown): boolean {
  return value === null || value === false || value === 0 || value === '' ||
    (Array.isArray(value) && value.length === 0);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Keys of `input` that the message did not take: present in the input with a non-default
 * value but absent after fromJSON/toJSON. Paths are in the JSON mapping, e.g.
 * "networks[0].dhcp.leaseSecond".
 */
export function unknownKeys(input: unknown, roundTrip: unknown, path = ''): string[] {
  const out: string[] = [];
  if (Array.isArray(input) && Array.isArray(roundTrip)) {
    input.forEach((item, i) => out.push(...unknownKeys(item, roundTrip[i], `${path}[${i}]`)));
    return out;
  }
  if (!isObject(input)) return out;
  const taken = isObject(roundTrip) ? roundTrip : {};
  for (const [key, value] of Object.entries(input)) {
    const here = path ? `${path}.${key}` : key;
    const name = key in taken ? key : camel(key);
    if (!(name in taken)) {
      if (!isDefaultLike(value)) out.push(here);
      continue;
    }
    out.push(...unknownKeys(value, taken[name], here));
  }
  return out;
}

/** Parses a desired state from YAML (default) or JSON text in the proto3 JSON mapping. */
export function parseDesiredState(text: string, opts: { format?: TextFormat; source?: string } = {}): DesiredState {
  const source = opts.source ?? 'desired state';
  const raw = parseText(text, opts.format ?? 'yaml', source);
  return desiredStateFromJson(raw, source);
}

/** Converts a parsed JSON value (e.g. from YAML) into a DesiredState, refusing unknown keys. */
export function desiredStateFromJson(raw: unknown, source = 'desired state'): DesiredState {
  if (raw === null || raw === undefined) return DesiredState.fromPartial({});
  if (!isObject(raw)) throw new DesiredStateParseError(source, ['the document must be a mapping (generation, networks, attachments)']);
  let state: DesiredState;
  try {
    state = DesiredState.fromJSON(raw);
  } catch (err) {
    throw new DesiredStateParseError(source, [(err as Error).message]);
  }
  const unknown = unknownKeys(raw, DesiredState.toJSON(state));
  if (unknown.length > 0) throw new DesiredStateParseError(source, unknown.map((p) => `unknown field ${p}`));
  return state;
}

/** The desired state as YAML in the proto3 JSON mapping (default values omitted). */
export function desiredStateToYaml(state: DesiredState): string {
  return YAML.stringify(DesiredState.toJSON(state));
}

/** The desired state as JSON in the proto3 JSON mapping (default values omitted). */
export function desiredStateToJson(state: DesiredState, indent = 2): string {
  return `${JSON.stringify(DesiredState.toJSON(state), null, indent)}\n`;
}
