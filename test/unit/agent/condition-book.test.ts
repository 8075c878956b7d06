// ConditionBook alone: pure bookkeeping, no kernel (moved out of test/e2e).
import { describe, expect, it } from 'vitest';
import { ConditionBook } from '../../../agent/conditions/book.js';
import { F, T } from '../../../agent/conditions/condition.js';

describe('ConditionBook', () => {
  it('moves lastTransitionTime only when the status changes, and reports every change', () => {
    const book = new ConditionBook();
    const t0 = new Date(1_000);
    const t1 = new Date(2_000);
    const t2 = new Date(3_000);
    expect(book.update('network', 'web', [{ type: 'Ready', status: F, reason: 'BridgeMissing', message: 'a' }], 1, t0)).toHaveLength(1);
    // Same status, new reason: a transition is streamed, the time stays.
    const changed = book.update('network', 'web', [{ type: 'Ready', status: F, reason: 'BridgeDown', message: 'b' }], 2, t1);
    expect(changed).toHaveLength(1);
    expect(book.get('network', 'web')[0]).toMatchObject({ lastTransitionTime: t0, observedGeneration: 2, reason: 'BridgeDown' });
    // Nothing changed: nothing streamed.
    expect(book.update('network', 'web', [{ type: 'Ready', status: F, reason: 'BridgeDown', message: 'b' }], 2, t1)).toEqual([]);
    book.update('network', 'web', [{ type: 'Ready', status: T, reason: 'Ready', message: '' }], 2, t2);
    expect(book.get('network', 'web')[0]?.lastTransitionTime).toEqual(t2);
    book.retain('network', new Set());
    expect(book.get('network', 'web')).toEqual([]);
  });
});
