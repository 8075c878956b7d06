// Small stable numbers for protected ports (the mark fields): an attachment keeps its id for
// as long as it stays protected; freed ids are reused lowest first.
import { MAX_PORT_ID } from './marks.js';

export class PortIds {
  private readonly ids = new Map<string, number>();

  /** Ids for exactly these attachments (others are released). Throws when they do not fit. */
  assign(attachments: readonly string[]): Map<string, number> {
    const keep = new Set(attachments);
    for (const a of [...this.ids.keys()]) if (!keep.has(a)) this.ids.delete(a);
    const used = new Set(this.ids.values());
    let next = 1;
    for (const a of attachments) {
      if (this.ids.has(a)) continue;
      while (used.has(next)) next++;
      if (next > MAX_PORT_ID) throw new Error(`more than ${MAX_PORT_ID} attachments with port security`);
      this.ids.set(a, next);
      used.add(next);
    }
    return new Map(this.ids);
  }
}
