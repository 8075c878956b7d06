// A stand-in for systemd's notify socket: an AF_UNIX datagram socket (Node cannot make one:
// a node + koffi child receives, see agent-native.ts) that records every message the agent sends.
import { execa, type ResultPromise } from 'execa';
import { nodeScriptArgs, NOTIFY_LISTENER_JS, REPO_ROOT } from './agent-native.js';

export interface NotifyListener {
  /** The NOTIFY_SOCKET value to give the agent. */
  address: string;
  messages(): string[];
  close(): Promise<void>;
}

export async function listenNotify(address: string): Promise<NotifyListener> {
  const child: ResultPromise = execa(process.execPath, nodeScriptArgs(NOTIFY_LISTENER_JS, address), { cwd: REPO_ROOT, reject: false, buffer: false });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  for (let i = 0; i < 200 && !text.includes('listening'); i++) await new Promise((r) => setTimeout(r, 25));
  if (!text.includes('listening')) throw new Error('notify listener did not start');
  return {
    address,
    messages: () => text.split('\n').slice(1).filter((l) => l !== ''),
    close: async () => {
      child.kill('SIGKILL');
      await child;
    },
  };
}
