import { describe, expect, it } from 'vitest';
import { statusLine } from '../../agent/status-line.js';

describe('statusLine (sd_notify STATUS=)', () => {
  it('names the generation and counts networks, attachments and problems', () => {
    const net = { name: 'n' } as never;
    expect(statusLine({ generation: 3, problems: [] }, { networks: [net, net], attachments: [net] }))
      .toBe('reconciled generation 3: 2 networks, 1 attachment, 0 problems');
    expect(statusLine({ generation: 0, problems: [{} as never] }, { networks: [], attachments: [] }))
      .toBe('reconciled generation 0: 0 networks, 0 attachments, 1 problem');
  });
});
