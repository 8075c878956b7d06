// One invocation: the environment and stdin in, what to print and the exit status out. Every
// failure becomes the spec's error JSON (with the runtime's cniVersion when it named one we
// speak); a fault of our own is error 110 rather than a stack trace the runtime cannot read.
import { parseConfig } from './config.js';
import { parseEnv } from './env.js';
import { CNI_ERR, CniError, errorJson } from './errors.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS, versionResult } from './version.js';

export interface RunOutput {
  code: number;
  /** JSON text for stdout; '' prints nothing. */
  stdout: string;
}

/** The cniVersion to answer errors with: the runtime's when we speak it. */
function answerVersion(stdin: string): string {
  const m = /"cniVersion"\s*:\s*"([^"]*)"/.exec(stdin);
  return m && (SUPPORTED_VERSIONS as readonly string[]).includes(m[1]!) ? m[1]! : LATEST_VERSION;
}

export async function run(processEnv: NodeJS.ProcessEnv, stdin: string): Promise<RunOutput> {
  try {
    const env = parseEnv(processEnv);
    if (env.command === 'VERSION') return { code: 0, stdout: JSON.stringify(versionResult()) };
    const conf = parseConfig(stdin, env.command, env.args);
    // Loaded only when the agent is asked: VERSION and bad input never pay for node:http2.
    const commands = await import('./commands.js');
    switch (env.command) {
      case 'ADD': return { code: 0, stdout: JSON.stringify(await commands.add(env, conf)) };
      case 'DEL': await commands.del(env, conf); break;
      case 'CHECK': await commands.check(env, conf); break;
      case 'GC': await commands.gc(conf); break;
      case 'STATUS': await commands.status(conf); break;
    }
    return { code: 0, stdout: '' };
  } catch (err) {
    const e = err instanceof CniError ? err : new CniError(CNI_ERR.INTERNAL, `hostnet-cni failed: ${(err as Error)?.message ?? String(err)}`, (err as Error)?.stack ?? '');
    return { code: e.code, stdout: JSON.stringify(errorJson(e, answerVersion(stdin))) };
  }
}
