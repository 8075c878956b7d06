#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// hostnet-cni: the CNI plugin (spec 1.1; VERSION, ADD, DEL, CHECK, STATUS, GC) that asks the
// local hostnet agent over its unix socket for each container interface. Installed into a
// runtime's CNI_PATH (e.g. /opt/cni/bin/hostnet-cni); its network configuration:
//   { "cniVersion": "1.1.0", "name": "web", "type": "hostnet-cni", "network": "web",
//     "agentSocket": "/run/hostnet/agent.sock" }
// Kept small on purpose: a runtime starts one process per pod interface and command. The
// shebang drops NODE_EXTRA_CA_CERTS (libcni passes the runtime's environment on): loading extra
// CA certificates costs Node ~30 ms at start, and the plugin only ever talks to a unix socket.
import { readFileSync, writeSync } from 'node:fs';
import { run } from './run.js';

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return ''; // no stdin (closed): VERSION needs none, the rest report a decode error
  }
}

const out = await run(process.env, readStdin());
// Synchronous writes, then exit: nothing of the result may be lost to an unflushed stream.
if (out.stdout) writeSync(1, `${out.stdout}\n`);
process.exit(out.code);
