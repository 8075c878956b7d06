// The five commands that ask the agent (VERSION is answered in run.ts without it). Each returns
// what goes on stdout (undefined: nothing) or throws a CniError.
import { callAgent, CALL_TIMEOUT_MS, RETRY_FOR_MS } from './agent-call.js';
import type { NetConf } from './config.js';
import type { CniEnv } from './env.js';
import { CNI_ERR, CniError } from './errors.js';
import { GRPC } from './grpc-unary.js';
import { decodeAddAnswer, decodeCheckAnswer, decodeDelAnswer, decodeGcAnswer, decodeStatusAnswer, encodeAdd, encodeCheck, encodeDel, encodeGc, encodeStatus } from './messages.js';
import { containerSideGone } from './netns-probe.js';
import { outcomeError } from './outcome.js';
import { ProtoDecodeError } from './proto.js';
import { addResult, mergeWithPrev, prevAddressesMissing, type CniResult } from './result.js';

const METHOD = (m: string): string => `/hostnet.v1.Cni/${m}`;

/** Decodes an answer; a malformed one is error 106, not a crash. */
function read<T>(op: string, decode: (b: Uint8Array) => T, body: Uint8Array): T {
  try {
    return decode(body);
  } catch (err) {
    if (err instanceof ProtoDecodeError) throw new CniError(CNI_ERR.BAD_ANSWER, `${op}: the hostnet agent's answer could not be read`, err.message);
    throw err;
  }
}

export async function add(env: CniEnv, conf: NetConf): Promise<CniResult> {
  const o = await callAgent(conf.agentSocket, METHOD('Add'), encodeAdd({
    ref: { containerId: env.containerId, ifName: env.ifName }, netns: env.netns, network: conf.network,
    cniNetwork: conf.name, ips: conf.ips, mac: conf.mac,
  }), { retryForMs: RETRY_FOR_MS, timeoutMs: CALL_TIMEOUT_MS });
  if (o.kind !== 'ok') throw outcomeError('ADD', conf.agentSocket, o);
  const answer = read('ADD', decodeAddAnswer, o.body);
  if (!answer.attachment) throw new CniError(CNI_ERR.BAD_ANSWER, 'ADD: the hostnet agent answered without the attachment');
  return mergeWithPrev(conf.prevResult, addResult(answer, conf.cniVersion, env.ifName, env.netns));
}

export async function del(env: CniEnv, conf: NetConf): Promise<void> {
  let gone: Promise<boolean> | undefined;
  const sideGone = (): Promise<boolean> => (gone ??= containerSideGone(env.netns, env.ifName));
  const o = await callAgent(conf.agentSocket, METHOD('Del'), encodeDel({ ref: { containerId: env.containerId, ifName: env.ifName }, network: conf.network }), {
    retryForMs: RETRY_FOR_MS, timeoutMs: CALL_TIMEOUT_MS,
    // The spec wants DEL tolerant: with no agent and nothing in the container, there is nothing to do.
    giveUpEarly: sideGone,
  });
  if (o.kind === 'ok') {
    read('DEL', decodeDelAnswer, o.body);
    return;
  }
  // DEL is tolerant: an agent that knows no such network has nothing of it to remove.
  if (o.kind === 'status' && o.code === GRPC.NOT_FOUND) {
    process.stderr.write(`hostnet-cni: DEL ${env.containerId}/${env.ifName}: ${o.message}: nothing to remove\n`);
    return;
  }
  if (o.kind === 'unreachable' && (await sideGone())) {
    process.stderr.write(`hostnet-cni: DEL ${env.containerId}/${env.ifName}: agent unreachable (${o.cause}), nothing left in the container: done\n`);
    return;
  }
  throw outcomeError('DEL', conf.agentSocket, o);
}

export async function check(env: CniEnv, conf: NetConf): Promise<void> {
  // The spec has CHECK consult the prevResult of the ADD; a runtime always passes it.
  if (!conf.prevResult) throw new CniError(CNI_ERR.INVALID_CONFIG, 'CHECK: prevResult is required (the result of the ADD)');
  const o = await callAgent(conf.agentSocket, METHOD('Check'), encodeCheck({ ref: { containerId: env.containerId, ifName: env.ifName }, netns: env.netns, network: conf.network }), {
    retryForMs: RETRY_FOR_MS, timeoutMs: CALL_TIMEOUT_MS,
  });
  if (o.kind !== 'ok') throw outcomeError('CHECK', conf.agentSocket, o);
  const att = read('CHECK', decodeCheckAnswer, o.body).attachment;
  const have = (att?.addresses ?? []).map((x) => `${x.ip}/${x.prefixLength}`);
  const missing = prevAddressesMissing(conf.prevResult, env.ifName, env.netns, have);
  if (missing.length) throw new CniError(CNI_ERR.CHECK_MISMATCH, `CHECK failed: the ADD result lists ${missing.join(', ')} on ${env.ifName}, the attachment has ${have.join(', ') || 'no address'}`);
}

export async function gc(conf: NetConf): Promise<void> {
  const o = await callAgent(conf.agentSocket, METHOD('Gc'), encodeGc({ cniNetwork: conf.name, valid: conf.validAttachments }), {
    retryForMs: RETRY_FOR_MS, timeoutMs: CALL_TIMEOUT_MS,
  });
  if (o.kind !== 'ok') throw outcomeError('GC', conf.agentSocket, o);
  const removed = read('GC', decodeGcAnswer, o.body).removed;
  if (removed.length) process.stderr.write(`hostnet-cni: GC of ${conf.name} removed ${removed.join(', ')}\n`);
}

/** STATUS: no retries (the runtime asks again); any failure to serve ADDs is code 50. */
export async function status(conf: NetConf): Promise<void> {
  const o = await callAgent(conf.agentSocket, METHOD('Status'), encodeStatus({ network: conf.network }), { retryForMs: 0, timeoutMs: 5000 });
  if (o.kind !== 'ok') {
    const cause = o.kind === 'status' ? outcomeError('STATUS', conf.agentSocket, o).message : o.cause;
    throw new CniError(CNI_ERR.NOT_AVAILABLE, `the hostnet agent cannot serve ADDs to network ${conf.network}`, cause);
  }
  const s = read('STATUS', decodeStatusAnswer, o.body);
  if (!s.ready) throw new CniError(CNI_ERR.NOT_AVAILABLE, `network ${conf.network} is not ready`, s.message);
}
