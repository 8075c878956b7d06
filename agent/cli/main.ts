#!/usr/bin/env node
// hostnetctl: the admin's view of one node's agent.
//   hostnetctl [--socket PATH] get networks|attachments|securitygroups|leases|ips [-o wide|json|yaml]
//   hostnetctl [--socket PATH] describe network|attachment NAME
//   hostnetctl [--socket PATH] apply -f FILE [--dry-run] [--wait [--timeout SECONDS]]
//   hostnetctl [--socket PATH] watch [-o json|yaml]
// or, instead of the unix socket, an agent's --listen over mutual TLS:
//   hostnetctl --server HOST:PORT --cert FILE --key FILE --ca FILE [--server-name NAME] COMMAND
// Errors are printed to stderr (a violation per line) with a non-zero exit code: 1 when refused
// or failed, 2 when an apply --wait was applied but is not Ready within the timeout.
import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET_PATH } from '../server/unix-socket.js';
import { CliError, connect, connectRemote } from './client.js';
import { remoteName } from './remote.js';
import * as cmd from './commands.js';
import type { OutputFormat } from './format.js';

const USAGE = `usage: hostnetctl [--socket PATH] COMMAND
       hostnetctl --server HOST:PORT --cert FILE --key FILE --ca FILE [--server-name NAME] COMMAND
                                   (an agent's --listen, over mutual TLS: this client's certificate
                                    and key, the CA of the agent's certificate; --server-name: the
                                    name the agent's certificate must carry when it is not HOST)
  get networks|attachments|securitygroups|leases|ips|node [-o wide|json|yaml] [--network NAME]
                                   (securitygroups: also securitygroup, sg)
  describe network|attachment NAME
  apply -f FILE [--dry-run] [--wait [--timeout SECONDS]]
                                   (FILE: YAML or JSON; - reads stdin; --wait: until all is Ready, default 300 s)
  watch [-o json|yaml]`;

function outputFormat(text: string | undefined): OutputFormat {
  if (text === undefined) return 'table';
  if (text === 'wide' || text === 'json' || text === 'yaml') return text;
  throw new CliError(`-o ${text}: expected wide, json or yaml`);
}

function seconds(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`--timeout ${text}: expected a positive number of seconds`);
  return n;
}

interface TargetFlags {
  socket?: string | undefined; server?: string | undefined; cert?: string | undefined; key?: string | undefined;
  ca?: string | undefined; 'server-name'?: string | undefined;
}

/** The unix socket (the default), or --server with all of its TLS files; `where` names it in messages. */
function connectTo(v: TargetFlags): { client: ReturnType<typeof connect>; where: string } {
  const tlsFlags = (['cert', 'key', 'ca', 'server-name'] as const).filter((f) => v[f] !== undefined);
  if (v.server === undefined) {
    if (tlsFlags.length) throw new CliError(`${tlsFlags.map((f) => `--${f}`).join(', ')} given without --server HOST:PORT`);
    const socket = v.socket ?? process.env['HOSTNET_SOCKET'] ?? DEFAULT_SOCKET_PATH;
    return { client: connect(socket), where: socket };
  }
  if (v.socket !== undefined) throw new CliError('--socket and --server: give one (the unix socket, or an agent over TCP)');
  const missing = (['cert', 'key', 'ca'] as const).filter((f) => !v[f]).map((f) => `--${f} FILE`);
  if (missing.length) throw new CliError(`--server ${v.server} is mutual TLS only: ${missing.join(', ')} missing`);
  return {
    client: connectRemote({ server: v.server, certFile: v.cert!, keyFile: v.key!, caFile: v.ca!, serverName: v['server-name'] }),
    where: remoteName(v.server),
  };
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string' },
        server: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        ca: { type: 'string' },
        'server-name': { type: 'string' },
        output: { type: 'string', short: 'o' },
        filename: { type: 'string', short: 'f' },
        'dry-run': { type: 'boolean' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
        network: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    throw new CliError(`a command is required\n${USAGE}`);
  }
  const format = outputFormat(values.output);
  const [verb, what, name] = positionals;
  const { client, where } = connectTo(values);
  const ctx: cmd.Ctx = { client, socket: where, out: (text) => process.stdout.write(`${text}\n`) };
  try {
    switch (verb) {
      case 'get':
        if (what === 'networks' || what === 'network') return await cmd.getNetworks(ctx, format);
        if (what === 'attachments' || what === 'attachment') return await cmd.getAttachments(ctx, format);
        if (what === 'securitygroups' || what === 'securitygroup' || what === 'sg') return await cmd.getSecurityGroups(ctx, format);
        if (what === 'leases') return await cmd.getLeases(ctx, format, values.network);
        if (what === 'ips') return await cmd.getIps(ctx, format, values.network);
        if (what === 'node') return await cmd.getNode(ctx, format);
        throw new CliError(`get ${what ?? ''}: expected networks, attachments, securitygroups (sg), leases, ips or node`);
      case 'describe':
        if (!name) throw new CliError(`describe ${what ?? ''}: a NAME is required`);
        if (what === 'network') return await cmd.describeNetwork(ctx, name);
        if (what === 'attachment') return await cmd.describeAttachment(ctx, name);
        throw new CliError(`describe ${what ?? ''}: expected network or attachment`);
      case 'apply':
        if (!values.filename) throw new CliError('apply: -f FILE is required');
        return await cmd.apply(ctx, values.filename, {
          dryRun: values['dry-run'] ?? false, wait: values.wait ?? false, timeoutMs: seconds(values.timeout, 300) * 1000,
          note: (text) => process.stderr.write(`hostnetctl: ${text}\n`),
        });
      case 'watch':
        return await cmd.watch(ctx, format);
      default:
        throw new CliError(`unknown command "${verb}"\n${USAGE}`);
    }
  } finally {
    client.close();
  }
}

// exitCode, not exit(): output written to a pipe must be flushed first.
main(process.argv.slice(2)).then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    process.stderr.write(`hostnetctl: ${err instanceof CliError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  },
);
