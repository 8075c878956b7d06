// The anti-spoofing check of the port-security e2e files, with the ordering it relies on: the
// protected workload sends scapy frames, then sentinel frames from its own address; once every
// witness saw the sentinel, and the drop counter counted the forged frames, a forged frame that
// got through would have been seen too. Witnesses are sniffers or sockets outside the agent.
import { expect } from 'vitest';
import { eventually } from './agent-state.js';
import type { PyShell } from './port-security.js';

export interface Witness {
  /** Who saw it, for the failure message ("v", "the bridge"). */
  name: string;
  /** Whether it received something containing `needle` (in the form the file passes). */
  saw(needle: string): Promise<boolean>;
}

export interface SpoofCheckOptions {
  /** The sending workload's shell (scapy loaded); read when sending, after the file's beforeAll. */
  sender: () => PyShell;
  /** The sentinel frames (python scapy expressions) carrying `marker`. */
  sentinels: (marker: string) => string[];
  /** The marker as the witnesses look for it (hex for a sniffer, the text for a socket). */
  markerNeedle: (marker: string) => string;
  witnesses: () => Witness[];
  /** The sender's spoofing drops: the name (for messages) and the packets counted so far. */
  counter: { name: string; read: () => Promise<number> };
}

export class SpoofCheck {
  private sentinelsSent = 0;

  constructor(private readonly o: SpoofCheckOptions) {}

  /** Sends the frames (on eth0), then the sentinels; waits until every witness saw the sentinel. */
  async send(frames: string[]): Promise<void> {
    const marker = `HN-SENTINEL-${++this.sentinelsSent}`;
    await this.o.sender().run([...frames, ...this.o.sentinels(marker)].map((f) => `sendp(${f}, iface="eth0", verbose=False)`).join('\n'));
    const witnesses = this.o.witnesses();
    await eventually(`sentinel ${marker} seen by ${witnesses.map((w) => w.name).join(' and ')}`, async () => {
      for (const w of witnesses) if (!(await w.saw(this.o.markerNeedle(marker)))) return false;
      return true;
    });
  }

  /** Forged frames: each counted in the counter, none of `needles` seen by any witness. */
  async expectDropped(frames: string[], needles: string[]): Promise<void> {
    const { name, read } = this.o.counter;
    const before = await read();
    await this.send(frames);
    // The sentinel came after them: what is not counted by now will not be.
    const counted = await eventually(`${name} to count them`, async () => (await read()) >= before + frames.length, 2000).catch(() => false);
    const seen: string[] = [];
    for (const n of needles) {
      for (const w of this.o.witnesses()) if (await w.saw(n)) seen.push(`${w.name} received ${n}`);
    }
    expect({ counted: counted ? frames.length : (await read()) - before, seen }).toEqual({ counted: frames.length, seen: [] });
  }
}
