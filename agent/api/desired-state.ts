// Reading and writing the desired state in the proto3 JSON mapping, from YAML or JSON text.
// ts-proto's fromJSON is lenient (it ignores keys it does not know and coerces types); an
// admin's typo such as `gatewayOnbridge: true` or `mtu: -1` must not be dropped or fail later
// in the encoder naming no field, so the input is checked against the message shapes first:
// one problem per bad field, with its path and what was expected.
import YAML from 'yaml';
import { DesiredState } from './gen/hostnet/v1/resources.js';
import { jsonDuplicateKeys, yamlDuplicateKeys } from './duplicate-keys.js';
import { capLines } from './echo.js';
import { checkMessage } from './json-check.js';

export class DesiredStateParseError extends Error {
  override readonly name = 'DesiredStateParseError';
  /** `problems` is complete; the message shows at most MAX_PROBLEMS of them, each clipped. */
  constructor(readonly source: string, readonly problems: string[]) {
    const shown = capLines(problems);
    super(`${source}: ${problems.length === 1 ? shown[0] : `${problems.length} problems:\n- ${shown.join('\n- ')}`}`);
  }
}

export type TextFormat = 'yaml' | 'json';

/** Aliases a document may use: enough for any real state, far too few for an alias bomb. */
const MAX_ALIAS_COUNT = 100;

/** JSON is YAML, but JSON errors read better from JSON.parse. */
function parseText(text: string, format: TextFormat, source: string): unknown {
  if (format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new DesiredStateParseError(source, [`not valid JSON: ${(err as Error).message}`]);
    }
    const dups = jsonDuplicateKeys(text);
    if (dups.length > 0) throw new DesiredStateParseError(source, dups);
    return value;
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  if (doc.errors.length > 0) {
    throw new DesiredStateParseError(source, doc.errors.map((e) => `not valid YAML: ${e.message.split('\n')[0]}`));
  }
  const dups = yamlDuplicateKeys(doc);
  if (dups.length > 0) throw new DesiredStateParseError(source, dups);
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new DesiredStateParseError(source, [`not valid YAML: aliases expand too far (more than ${MAX_ALIAS_COUNT} alias uses; a YAML "billion laughs" document?)`]);
    }
    throw new DesiredStateParseError(source, [`not valid YAML: ${(err as Error).message}`]);
  }
}

/** Parses a desired state from YAML (default) or JSON text in the proto3 JSON mapping. */
export function parseDesiredState(text: string, opts: { format?: TextFormat; source?: string } = {}): DesiredState {
  const source = opts.source ?? 'desired state';
  const raw = parseText(text, opts.format ?? 'yaml', source);
  return desiredStateFromJson(raw, source);
}

/** Converts a parsed JSON value (e.g. from YAML) into a DesiredState, refusing unknown keys and wrong types. */
export function desiredStateFromJson(raw: unknown, source = 'desired state'): DesiredState {
  if (raw === null || raw === undefined) return DesiredState.fromPartial({});
  const problems = checkMessage(raw, 'DesiredState');
  if (problems.length > 0) throw new DesiredStateParseError(source, problems);
  try {
    return DesiredState.fromJSON(raw);
  } catch (err) {
    throw new DesiredStateParseError(source, [(err as Error).message]);
  }
}

/** The desired state as YAML in the proto3 JSON mapping (default values omitted). */
export function desiredStateToYaml(state: DesiredState): string {
  return YAML.stringify(DesiredState.toJSON(state));
}

/** The desired state as JSON in the proto3 JSON mapping (default values omitted). */
export function desiredStateToJson(state: DesiredState, indent = 2): string {
  return `${JSON.stringify(DesiredState.toJSON(state), null, indent)}\n`;
}
