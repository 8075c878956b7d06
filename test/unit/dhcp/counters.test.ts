import { describe, expect, it } from 'vitest';
import { CounterSet, messageTypeName } from '../../../dhcp/counters.js';

describe('counters', () => {
  it('count by message type name and by reason, as plain records a spread can copy', () => {
    const c = new CounterSet();
    c.countReceived(1);
    c.countReceived(1);
    c.countSent(2);
    c.countDrop('pool-exhausted');
    c.countNak('address-taken');
    c.countReceived(42);
    expect({ ...c }).toEqual({
      received: { discover: 2, 'type-42': 1 }, sent: { offer: 1 }, dropped: { 'pool-exhausted': 1 }, naks: { 'address-taken': 1 },
      // The refusal came after the OFFER: the latest of the two is a refusal.
      latest: { offer: 1, poolExhausted: 2 },
    });
    expect(messageTypeName(8)).toBe('inform');
  });
  it('two instances share nothing', () => {
    const a = new CounterSet();
    const b = new CounterSet();
    a.countDrop('x');
    expect(b.dropped).toEqual({});
  });
});
