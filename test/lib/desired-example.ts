// The desired states the validation, plan and mutation unit tests start from: an example parsed
// afresh for each test (tests edit it in place), variants of it, and violations as "path rule".
import { readFileSync } from 'node:fs';
import { parseDesiredState } from '../../agent/api/desired-state.js';
import type { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import type { Violation } from '../../agent/desired/validate.js';

/** The example of issue 3 (test/unit/agent/fixtures/issue-example.yaml). */
export const ISSUE_EXAMPLE_TEXT = readFileSync(new URL('../unit/agent/fixtures/issue-example.yaml', import.meta.url), 'utf8');

export interface Examples {
  /** The example, parsed afresh. */
  example(): DesiredState;
  /** The example with `edit` applied. */
  variant(edit: (s: DesiredState) => void): DesiredState;
}

export function examplesOf(text: string): Examples {
  const example = (): DesiredState => parseDesiredState(text);
  return {
    example,
    variant(edit) {
      const s = example();
      edit(s);
      return s;
    },
  };
}

export const rulesAt = (vs: Violation[]): string[] => vs.map((v) => `${v.path} ${v.rule}`);
