// A guest namespace wired to a TAP through tap-relay.py: the relay holds the TAP open (carrier
// up, as a VM would) and copies frames between it and a veth whose far end is the guest's
// interface, so a real DHCP client in the guest is what the TAP's network sees. The veth's
// near end is made in `hostNetns` (where the TAP is); stop() kills the relay by pid and deletes
// that end (its peer goes with it).
import { execa, type ResultPromise } from 'execa';

const script = new URL('./tap-relay.py', import.meta.url).pathname;

export interface TapRelay {
  /** The guest's interface (in `guestNetns`), with the MAC asked for, up. */
  guestIf: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Wires `tap` in `hostNetns` to `guestIf` in `guestNetns`; `relayIf` names the near end (must
 * not clash with anything the agent manages). The guest's interface gets `mac`, the TAP
 * attachment's MAC, since DHCP serves the TAP's reservation by MAC.
 */
export async function startTapRelay(opts: { hostNetns: string; tap: string; relayIf: string; guestNetns: string; guestIf: string; mac: string }): Promise<TapRelay> {
  const { hostNetns, tap, relayIf, guestNetns, guestIf, mac } = opts;
  await execa('ip', ['-n', hostNetns, 'link', 'add', relayIf, 'type', 'veth', 'peer', 'name', guestIf, 'netns', guestNetns]);
  let proc: ResultPromise | null = null;
  let text = '';
  try {
    await execa('ip', ['-n', guestNetns, 'link', 'set', guestIf, 'address', mac, 'up']);
    await execa('ip', ['-n', hostNetns, 'link', 'set', relayIf, 'up']);
    // Debian's python3 by full path: another python3 may come first on PATH.
    proc = execa('ip', ['netns', 'exec', hostNetns, '/usr/bin/python3', '-u', script, tap, relayIf], { reject: false, all: true, buffer: false });
    proc.all?.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const deadline = Date.now() + 5000;
    while (!text.includes('relaying')) {
      if (proc.exitCode !== undefined && proc.exitCode !== null) throw new Error(`tap-relay on ${tap} exited: ${text}`);
      if (Date.now() > deadline) throw new Error(`tap-relay on ${tap}: not relaying after 5 s: ${text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (err) {
    proc?.kill('SIGKILL');
    await proc;
    await execa('ip', ['-n', hostNetns, 'link', 'del', relayIf], { reject: false });
    throw err;
  }
  const running = proc;
  return {
    guestIf,
    output: () => text,
    stop: async () => {
      running.kill('SIGKILL');
      await running;
      await execa('ip', ['-n', hostNetns, 'link', 'del', relayIf], { reject: false });
    },
  };
}
